using Microsoft.Extensions.Logging;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Jobs;

/// <summary>
/// The orchestrator's activities as plain methods, so each host binds them its own way: Durable Functions through
/// activity triggers, the local host through DurableTask.Core shims. Every one is safe to run again. Each is a span in
/// the batch's trace (<see cref="ServerlessTelemetry.BatchContext"/>), whichever runtime runs it; the batch's
/// orchestration span is recorded when the batch reaches its final status.
/// </summary>
public sealed partial class BatchActivities(
    BatchValidation validation,
    BatchChunkRunner chunks,
    BatchFinalizer finalizer,
    BatchStore batches,
    ILogger<BatchActivities> logger)
{
    public async Task<BatchPlan> ValidateAsync(string batchId)
    {
        using var span = ServerlessTelemetry.StartBatchActivity(ServerlessTelemetry.Spans.BatchValidate, batchId);
        var plan = await validation.ValidateAsync(batchId);
        span?.SetTag(TelemetryAttributes.BatchChunks, plan.Chunks);
        if (!plan.Valid)
        {
            await RecordOrchestrationAsync(batchId);
        }

        return plan;
    }

    public async Task<ChunkOutcome> RunChunkAsync(ChunkRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var span = ServerlessTelemetry.StartBatchActivity(ServerlessTelemetry.Spans.BatchChunk, request.BatchId);
        span?.SetTag(TelemetryAttributes.BatchChunk, request.Chunk);
        var outcome = await chunks.RunAsync(request);
        span?.SetTag(TelemetryAttributes.BatchLinesCompleted, outcome.Completed);
        span?.SetTag(TelemetryAttributes.BatchLinesFailed, outcome.Failed);
        span?.SetTag(TelemetryAttributes.BatchStopped, outcome.Stopped);
        return outcome;
    }

    public async Task<string> FinalizeAsync(FinalizeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string status;
        using (var span = ServerlessTelemetry.StartBatchActivity(ServerlessTelemetry.Spans.BatchFinalize, request.BatchId))
        {
            status = await finalizer.FinalizeAsync(request);
            span?.SetTag(TelemetryAttributes.BatchStatus, status);
        }

        await RecordOrchestrationAsync(request.BatchId);
        return status;
    }

    public async Task<bool> FailAsync(FailRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using (ServerlessTelemetry.StartBatchActivity(ServerlessTelemetry.Spans.BatchFail, request.BatchId))
        {
            LogFailed(logger, request.BatchId, request.Message);
            await batches.MarkFailedAsync(request.BatchId, new BatchErrors([new BatchError("batch_failed", "The batch could not be completed because of an internal error.")]));
        }

        await RecordOrchestrationAsync(request.BatchId);
        return true;
    }

    // The whole batch as one span, from its creation to its final status (read back, so it is what the API shows).
    private async Task RecordOrchestrationAsync(string batchId)
    {
        if (!ServerlessTelemetry.Source.HasListeners())
        {
            return;
        }

        var job = await batches.LoadAsync(batchId);
        ServerlessTelemetry.RecordBatchOrchestration(batchId, job.CreatedAt, span =>
        {
            span.SetTag(TelemetryAttributes.CustomerId, job.CustomerId);
            span.SetTag(TelemetryAttributes.KeyId, job.KeyId);
            span.SetTag(TelemetryAttributes.BatchStatus, job.Status);
            span.SetTag(TelemetryAttributes.BatchEndpoint, job.Endpoint);
            span.SetTag(TelemetryAttributes.BatchLinesTotal, job.Total);
            span.SetTag(TelemetryAttributes.BatchLinesCompleted, job.Completed);
            span.SetTag(TelemetryAttributes.BatchLinesFailed, job.Failed);
            if (job.Status == BatchStatus.Failed)
            {
                span.SetTag(TelemetryAttributes.ErrorType, "batch_failed").SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {BatchId} failed: {Message}")]
    private static partial void LogFailed(ILogger logger, string batchId, string message);
}
