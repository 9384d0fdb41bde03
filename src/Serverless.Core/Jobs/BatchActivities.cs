using Microsoft.Extensions.Logging;

namespace Serverless.Core.Jobs;

/// <summary>
/// The orchestrator's activities as plain methods, so each host binds them its own way: Durable Functions through
/// activity triggers, the local host through DurableTask.Core shims. Every one is safe to run again.
/// </summary>
public sealed partial class BatchActivities(
    BatchValidation validation,
    BatchChunkRunner chunks,
    BatchFinalizer finalizer,
    BatchStore batches,
    ILogger<BatchActivities> logger)
{
    public Task<BatchPlan> ValidateAsync(string batchId) => validation.ValidateAsync(batchId);

    public Task<ChunkOutcome> RunChunkAsync(ChunkRequest request) => chunks.RunAsync(request);

    public Task<string> FinalizeAsync(FinalizeRequest request) => finalizer.FinalizeAsync(request);

    public async Task<bool> FailAsync(FailRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        LogFailed(logger, request.BatchId, request.Message);
        await batches.MarkFailedAsync(request.BatchId, new BatchErrors([new BatchError("batch_failed", "The batch could not be completed because of an internal error.")]));
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {BatchId} failed: {Message}")]
    private static partial void LogFailed(ILogger logger, string batchId, string message);
}
