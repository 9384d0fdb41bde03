using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Jobs;

/// <summary>
/// Creates a batch: its input file must be one of the caller's customer's files with purpose batch; the batch is
/// recorded as validating, then its orchestration is started. A batch whose orchestration cannot start is removed
/// again (nothing of it ran) and the caller is told to retry.
/// </summary>
public sealed partial class BatchCreation(
    BatchStore batches,
    FileStore files,
    IBatchStarter starter,
    IOptions<BatchOptions> options,
    TimeProvider time,
    ILogger<BatchCreation> logger)
{
    public async Task<BatchJob> CreateAsync(ApiCaller caller, BatchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var input = await files.FindAsync(caller.CustomerId, request.InputFileId, cancellationToken) ?? throw FileStore.NotFound(request.InputFileId, "input_file_id");
        if (input.Purpose != FilePurpose.Batch)
        {
            throw ApiException.InvalidValue("input_file_id", $"The file {request.InputFileId} has purpose '{input.Purpose}'; a batch's input file must have purpose '{FilePurpose.Batch}'.");
        }

        var now = time.GetUtcNow();
        var job = new BatchJob
        {
            Id = Ids.New("batch_"),
            CustomerId = caller.CustomerId,
            KeyId = caller.KeyId,
            ModelScope = string.Join(',', caller.ModelScope),
            Endpoint = request.Endpoint,
            InputFileId = request.InputFileId,
            CompletionWindow = request.CompletionWindow,
            Metadata = request.Metadata,
            Status = BatchStatus.Validating,
            CreatedAt = now,
            ExpiresAt = now + options.Value.CompletionWindow,
        };
        await batches.AddAsync(job, cancellationToken);
        try
        {
            await starter.StartAsync(job.Id, cancellationToken);
        }
        catch (Exception ex) when (ex is not ApiException)
        {
            // Nothing ran: the batch is removed, and the client may simply create it again.
            LogNotStarted(logger, ex, job.Id);
            await batches.RemoveAsync(job.Id);
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "service_unavailable_error", "batch_not_started",
                "The batch could not be started. Retry after the delay in the Retry-After header.") { RetryAfterSeconds = 2 };
        }

        LogCreated(logger, job.Id, caller.CustomerId, request.Endpoint);

        // The batch runs in its own trace (ServerlessTelemetry.BatchContext); the request that created it points there.
        if (System.Diagnostics.Activity.Current is { IsAllDataRequested: true } span)
        {
            span.SetTag(TelemetryAttributes.BatchId, job.Id);
            span.AddLink(new System.Diagnostics.ActivityLink(ServerlessTelemetry.BatchContext(job.Id)));
        }

        return job;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} created for {CustomerId} ({Endpoint})")]
    private static partial void LogCreated(ILogger logger, string batchId, string customerId, string endpoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {BatchId} could not be started; removed")]
    private static partial void LogNotStarted(ILogger logger, Exception exception, string batchId);
}
