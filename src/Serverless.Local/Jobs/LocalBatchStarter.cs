using Serverless.Core.Jobs;

namespace Serverless.Local.Jobs;

/// <summary>Starts batch orchestrations on the local host's Durable Task hub.</summary>
public sealed class LocalBatchStarter(LocalDurableTaskRuntime runtime) : IBatchStarter
{
    // Long enough for a host that just started to create its task hub; short enough to answer 503 rather than hang.
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    public async Task StartAsync(string batchId, CancellationToken cancellationToken)
    {
        var client = await runtime.ClientAsync(ReadyTimeout, cancellationToken);
        await client.CreateOrchestrationInstanceAsync(BatchOrchestrator.Name, string.Empty, batchId, batchId);
    }
}
