using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Jobs;

namespace Serverless.Local.Jobs;

/// <summary>
/// Runs the batch orchestrator and its activities in the local host on DurableTask.Core with the Azure Storage backend
/// (Azurite locally), through the same shims Durable Functions' own runtimes use, so the orchestration is durable here
/// too: a host killed mid-batch continues the batch when it starts again, and several hosts on one storage account
/// share the task hub as Durable Functions instances do (each a worker of its own: see <see cref="WorkerIdFor"/>), the
/// survivors taking over a dead host's partitions. Starts in the background and keeps trying while storage is not
/// reachable; the rest of the host does not wait for it.
/// </summary>
public sealed partial class LocalDurableTaskRuntime(
    IServiceProvider services,
    IConfiguration configuration,
    IOptions<LocalDurableTaskOptions> options,
    ILoggerFactory loggerFactory,
    ILogger<LocalDurableTaskRuntime> logger) : BackgroundService
{
    public const string DefaultHubName = "serverlesslocal";

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource<TaskHubClient> _client = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskHubWorker? _worker;

    /// <summary>The client for starting orchestrations, once the task hub is up; waits at most <paramref name="timeout"/>.</summary>
    public Task<TaskHubClient> ClientAsync(TimeSpan timeout, CancellationToken cancellationToken) => _client.Task.WaitAsync(timeout, cancellationToken);

    public string HubName => configuration["DurableTaskHubName"] is { Length: > 0 } name ? name : DefaultHubName;

    /// <summary>
    /// The name of a host among the task hub's workers (the owner its partition table records): the machine name and
    /// the addresses the host listens on. Two live hosts must never share a name: each would renew the other's
    /// partition leases as its own, both would read the same control queues, and when one died the other would never
    /// take its partitions over, because it already counted them as its own. Two hosts on one machine cannot listen on
    /// one address, so their names differ; a host restarted on its address has its old name and takes its partitions
    /// back at once instead of waiting for their leases to run out. Without addresses (an in-memory test server) it is
    /// the machine name alone, DurableTask.AzureStorage's default.
    /// </summary>
    public static string WorkerIdFor(string machineName, IEnumerable<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var listening = addresses.Order(StringComparer.Ordinal).ToList();
        return listening.Count == 0 ? machineName : machineName + " " + string.Join(' ', listening);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_worker is { } worker)
        {
            // Forced: a chunk in flight is not waited for; its message returns after the visibility timeout and the
            // chunk runs again, resuming its lines without billing any twice. Bounded: with storage already gone
            // (Ctrl+C stops Azurite too) releasing the partition leases would retry forever, and a lease left behind
            // is taken back at once by the next start on the same address (same worker id), or by other hosts once
            // it runs out.
            try
            {
                await worker.StopAsync(isForced: true).WaitAsync(StopTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                LogStopAbandoned(logger, HubName, StopTimeout);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string workerId;
        try
        {
            workerId = await WorkerIdAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var service = new AzureStorageOrchestrationService(Settings(workerId));
                await service.CreateIfNotExistsAsync();
                var worker = new TaskHubWorker(service, loggerFactory);
                Register(worker);
                await worker.StartAsync();
                _worker = worker;
                _client.TrySetResult(new TaskHubClient(service, null, loggerFactory));
                LogStarted(logger, HubName, workerId);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogStartFailed(logger, ex, HubName, delay);
                try
                {
                    await Task.Delay(delay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>This host's <see cref="WorkerIdFor">worker id</see>, once the server listens (after the hosted services started).</summary>
    private async Task<string> WorkerIdAsync(CancellationToken stoppingToken)
    {
        if (services.GetService<IServer>() is not { } server)
        {
            return WorkerIdFor(Environment.MachineName, []);
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        return WorkerIdFor(Environment.MachineName, server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
    }

    private AzureStorageOrchestrationServiceSettings Settings(string workerId)
    {
        var o = options.Value;
        string connection = configuration["AzureWebJobsStorage"] is { Length: > 0 } value ? value : "UseDevelopmentStorage=true";
        return new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(connection),
            TaskHubName = HubName,
            PartitionCount = o.PartitionCount,
            ControlQueueVisibilityTimeout = o.ControlQueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = o.WorkItemQueueVisibilityTimeout,
            MaxQueuePollingInterval = o.MaxQueuePollingInterval,
            MaxConcurrentTaskActivityWorkItems = o.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = o.MaxConcurrentOrchestrations,
            // No app lease: every host of the hub works at once (the app lease would let one alone run and the others
            // wait), sharing the partitions through their leases as Durable Functions instances do.
            UseAppLease = false,
            WorkerId = workerId,
            LeaseInterval = o.PartitionLeaseInterval,
            LeaseAcquireInterval = o.PartitionLeaseRenewInterval,
            LeaseRenewInterval = o.PartitionLeaseRenewInterval,
            LoggerFactory = loggerFactory,
        };
    }

    private void Register(TaskHubWorker worker)
    {
        var shims = new DurableTaskShimFactory(new DurableTaskWorkerOptions(), loggerFactory);
        var activities = services.GetRequiredService<BatchActivities>();
        worker.AddTaskOrchestrations(new Creator<TaskOrchestration>(BatchOrchestrator.Name,
            () => shims.CreateOrchestration(new TaskName(BatchOrchestrator.Name), new BatchOrchestrator())));
        worker.AddTaskActivities(
            Activity<string, BatchPlan>(shims, BatchActivityNames.Validate, activities.ValidateAsync),
            Activity<ChunkRequest, ChunkOutcome>(shims, BatchActivityNames.RunChunk, activities.RunChunkAsync),
            Activity<FinalizeRequest, string>(shims, BatchActivityNames.Finalize, activities.FinalizeAsync),
            Activity<FailRequest, bool>(shims, BatchActivityNames.Fail, activities.FailAsync));
    }

    private static Creator<TaskActivity> Activity<TInput, TOutput>(DurableTaskShimFactory shims, string name, Func<TInput, Task<TOutput>> run) =>
        new(name, () => shims.CreateActivity<TInput, TOutput>(new TaskName(name), async (_, input) => await run(input!)));

    /// <summary>Hands DurableTask.Core a fresh shim per work item, under the name (and the empty version) the orchestrator uses.</summary>
    private sealed class Creator<T> : ObjectCreator<T>
    {
        private readonly Func<T> _create;

        public Creator(string name, Func<T> create)
        {
            Name = name;
            Version = string.Empty;
            _create = create;
        }

        public override T Create() => _create();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Durable Task hub '{HubName}' started as worker '{WorkerId}' (DurableTask.Core on Azure Storage)")]
    private static partial void LogStarted(ILogger logger, string hubName, string workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Durable Task hub '{HubName}' did not stop within {Timeout}; leaving it")]
    private static partial void LogStopAbandoned(ILogger logger, string hubName, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Durable Task hub '{HubName}' could not start; retrying in {Delay}")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string hubName, TimeSpan delay);
}
