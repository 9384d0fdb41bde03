using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Core.Jobs;

namespace Serverless.Functions;

/// <summary>The durable client of the request that creates a batch, for <see cref="DurableFunctionsBatchStarter"/>.</summary>
internal sealed record DurableClientFeature(DurableTaskClient Client);

/// <summary>Starts batch orchestrations through Durable Functions (instance id = batch id).</summary>
internal sealed class DurableFunctionsBatchStarter : IBatchStarter
{
    public async Task StartAsync(HttpContext http, string batchId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var client = http.Features.Get<DurableClientFeature>()?.Client
            ?? throw new InvalidOperationException("The function creating a batch must bind a [DurableClient].");
        await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(BatchOrchestrator.Name), batchId, new StartOrchestrationOptions(batchId), cancellationToken);
    }
}
