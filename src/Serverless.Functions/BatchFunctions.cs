using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Serverless.Core.Http;
using Serverless.Core.Jobs;

namespace Serverless.Functions;

/// <summary>
/// The Batch API as Durable Functions: the routes (creating a batch starts its orchestration through the durable
/// client binding), the orchestrator (the shared <see cref="BatchOrchestrator"/>) and its activities (the shared
/// <see cref="BatchActivities"/>).
/// </summary>
public sealed class BatchFunctions(ApiDispatcher api, BatchActivities activities, DurableClientAccessor durableClient)
{
    [Function("CreateBatch")]
    public Task<IActionResult> Create(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/batches")] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return durableClient.RunWithAsync(client, () => api.RunAsync(CreateBatchHandler.Route, request));
    }

    [Function("ListBatches")]
    public Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/batches")] HttpRequest request) =>
        api.RunAsync(ListBatchesHandler.Route, request);

    [Function("GetBatch")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/batches/{id}")] HttpRequest request, string id) =>
        api.RunAsync(GetBatchHandler.Route, request, id);

    [Function("CancelBatch")]
    public Task<IActionResult> Cancel(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/batches/{id}/cancel")] HttpRequest request, string id) =>
        api.RunAsync(CancelBatchHandler.Route, request, id);

    [Function(BatchOrchestrator.Name)]
    public static Task<string> Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new BatchOrchestrator().RunAsync(context, context.GetInput<string>()!);
    }

    [Function(BatchActivityNames.Validate)]
    public Task<BatchPlan> Validate([ActivityTrigger] string batchId) => activities.ValidateAsync(batchId);

    [Function(BatchActivityNames.RunChunk)]
    public Task<ChunkOutcome> RunChunk([ActivityTrigger] ChunkRequest request) => activities.RunChunkAsync(request);

    [Function(BatchActivityNames.Finalize)]
    public Task<string> Finalize([ActivityTrigger] FinalizeRequest request) => activities.FinalizeAsync(request);

    [Function(BatchActivityNames.Fail)]
    public Task<bool> Fail([ActivityTrigger] FailRequest request) => activities.FailAsync(request);
}
