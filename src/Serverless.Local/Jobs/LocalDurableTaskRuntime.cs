using DurableTask.AzureStorage;
using DurableTask.Core;
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
/// too: a host killed mid-batch continues the batch when it starts again. Starts in the background and keeps trying
/// while storage is not reachable; the rest of the host does not wait for it.
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

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_worker is { } worker)
        {
            // Forced: a chunk in flight is not waited for; its message returns after the visibility timeout and the
            // chunk runs again, resuming its lines without billing any twice. Bounded: with storage already gone
            // (Ctrl+C stops Azurite too) releasing the partition leases would retry forever, and a lease left behind
            // is taken back at once by the next start (same worker id).
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
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var service = new AzureStorageOrchestrationService(Settings());
                await service.CreateIfNotExistsAsync();
                var worker = new TaskHubWorker(service, loggerFactory);
                Register(worker);
                await worker.StartAsync();
                _worker = worker;
                _client.TrySetResult(new TaskHubClient(service, null, loggerFactory));
                LogStarted(logger, HubName);
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

    private AzureStorageOrchestrationServiceSettings Settings()
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
            // One local host per task hub: no app lease to wait for after a crash. The worker id stays the machine name,
            // so a restarted host owns its partitions again at once instead of waiting for their leases to expire.
            UseAppLease = false,
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Durable Task hub '{HubName}' started (DurableTask.Core on Azure Storage)")]
    private static partial void LogStarted(ILogger logger, string hubName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Durable Task hub '{HubName}' did not stop within {Timeout}; leaving it")]
    private static partial void LogStopAbandoned(ILogger logger, string hubName, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Durable Task hub '{HubName}' could not start; retrying in {Delay}")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string hubName, TimeSpan delay);
}
