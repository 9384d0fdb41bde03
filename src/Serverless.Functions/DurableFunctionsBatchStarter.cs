using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Core.Jobs;

namespace Serverless.Functions;

/// <summary>
/// The durable client of the function invocation in progress. The isolated worker hands a <see cref="DurableTaskClient"/>
/// only to a function that binds [DurableClient] (there is no client in the container), so that function puts its
/// client here for the call it makes, and <see cref="DurableFunctionsBatchStarter"/> takes it from here. Flows with the
/// invocation's async context, so concurrent invocations each see their own.
/// </summary>
public sealed class DurableClientAccessor
{
    private static readonly AsyncLocal<DurableTaskClient?> Current = new();

    public DurableTaskClient? Client => Current.Value;

    /// <summary>Runs <paramref name="call"/> with <paramref name="client"/> as the invocation's durable client.</summary>
    public async Task<T> RunWithAsync<T>(DurableTaskClient client, Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(call);
        var previous = Current.Value;
        Current.Value = client;
        try
        {
            return await call();
        }
        finally
        {
            Current.Value = previous;
        }
    }
}

/// <summary>Starts batch orchestrations through Durable Functions (instance id = batch id).</summary>
internal sealed class DurableFunctionsBatchStarter(DurableClientAccessor durableClient) : IBatchStarter
{
    public async Task StartAsync(string batchId, CancellationToken cancellationToken)
    {
        var client = durableClient.Client
            ?? throw new InvalidOperationException("The function creating a batch must bind a [DurableClient] and run through DurableClientAccessor.");
        await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(BatchOrchestrator.Name), batchId, new StartOrchestrationOptions(batchId), cancellationToken);
    }
}
