using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Jobs;

/// <summary>POST /v1/batches {input_file_id, endpoint, completion_window: "24h", metadata}: creates a batch and starts its orchestration.</summary>
public sealed partial class CreateBatchHandler(
    BatchStore batches,
    FileStore files,
    IBatchStarter starter,
    BatchViews views,
    IOptions<BatchOptions> options,
    TimeProvider time,
    ILogger<CreateBatchHandler> logger) : IApiHandler
{
    public static readonly ApiRoute Route = new("CreateBatch", "POST", "/v1/batches", ApiAuth.ApiKey, typeof(CreateBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches, AlsoRequires = ApiKeyPermissions.Inference };

    public const string CompletionWindow = "24h";

    private const int MaxMetadataPairs = 16;
    private const int MaxMetadataKeyLength = 64;
    private const int MaxMetadataValueLength = 512;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
        var root = body.RootElement;
        string inputFileId = JsonFields.RequiredString(root, "input_file_id");
        string endpoint = JsonFields.RequiredString(root, "endpoint");
        if (!BatchEndpoints.IsSupported(endpoint))
        {
            throw ApiException.InvalidValue("endpoint",
                $"Invalid value for 'endpoint': '{endpoint}'. Supported values are: '{BatchEndpoints.ChatCompletions}' and '{BatchEndpoints.Completions}'.");
        }

        string window = JsonFields.RequiredString(root, "completion_window");
        if (window != CompletionWindow)
        {
            throw ApiException.InvalidValue("completion_window", $"Invalid value for 'completion_window': '{window}'. Supported values are: '{CompletionWindow}'.");
        }

        string? metadata = Metadata(root);
        var input = await files.FindAsync(caller.CustomerId, inputFileId, call.Aborted) ?? throw FileStore.NotFound(inputFileId, "input_file_id");
        if (input.Purpose != FilePurpose.Batch)
        {
            throw ApiException.InvalidValue("input_file_id", $"The file {inputFileId} has purpose '{input.Purpose}'; a batch's input file must have purpose '{FilePurpose.Batch}'.");
        }

        var now = time.GetUtcNow();
        var job = new BatchJob
        {
            Id = Ids.New("batch_"),
            CustomerId = caller.CustomerId,
            KeyId = caller.KeyId,
            ModelScope = string.Join(',', caller.ModelScope),
            Endpoint = endpoint,
            InputFileId = inputFileId,
            CompletionWindow = window,
            Metadata = metadata,
            Status = BatchStatus.Validating,
            CreatedAt = now,
            ExpiresAt = now + options.Value.CompletionWindow,
        };
        await batches.AddAsync(job, call.Aborted);
        try
        {
            await starter.StartAsync(job.Id, call.Aborted);
        }
        catch (Exception ex) when (ex is not ApiException)
        {
            // Nothing ran: the batch is removed, and the client may simply create it again.
            LogNotStarted(logger, ex, job.Id);
            await batches.RemoveAsync(job.Id);
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "service_unavailable_error", "batch_not_started",
                "The batch could not be started. Retry after the delay in the Retry-After header.") { RetryAfterSeconds = 2 };
        }

        LogCreated(logger, job.Id, caller.CustomerId, endpoint);
        await call.Http.Response.WriteAsJsonAsync(views.From(job, null), JobsJsonContext.Default.BatchObject, contentType: null, call.Aborted);
    }

    private static string? Metadata(JsonElement root)
    {
        if (!JsonFields.TryGet(root, "metadata", out var metadata))
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType("metadata", "an object", JsonFields.Describe(metadata));
        }

        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in metadata.EnumerateObject())
        {
            if (pair.Value.ValueKind != JsonValueKind.String)
            {
                throw ApiException.InvalidType($"metadata.{pair.Name}", "a string", JsonFields.Describe(pair.Value));
            }

            if (pair.Name.Length > MaxMetadataKeyLength || pair.Value.GetString()!.Length > MaxMetadataValueLength)
            {
                throw ApiException.InvalidValue("metadata", string.Create(CultureInfo.InvariantCulture,
                    $"Metadata keys are at most {MaxMetadataKeyLength} characters and values at most {MaxMetadataValueLength}."));
            }

            pairs[pair.Name] = pair.Value.GetString()!;
        }

        if (pairs.Count > MaxMetadataPairs)
        {
            throw ApiException.InvalidValue("metadata", string.Create(CultureInfo.InvariantCulture, $"Metadata has at most {MaxMetadataPairs} pairs."));
        }

        return JsonSerializer.Serialize(pairs, JobsJsonContext.Default.DictionaryStringString);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} created for {CustomerId} ({Endpoint})")]
    private static partial void LogCreated(ILogger logger, string batchId, string customerId, string endpoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {BatchId} could not be started; removed")]
    private static partial void LogNotStarted(ILogger logger, Exception exception, string batchId);
}

/// <summary>GET /v1/batches/{id}.</summary>
public sealed class GetBatchHandler(BatchStore batches, BatchViews views) : IApiHandler
{
    public static readonly ApiRoute Route = new("GetBatch", "GET", "/v1/batches/{id}", ApiAuth.ApiKey, typeof(GetBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var job = await batches.GetAsync(call.RequireCaller().CustomerId, call.RouteId ?? string.Empty, call.Aborted);
        await call.Http.Response.WriteAsJsonAsync(await views.ViewAsync(job, call.Aborted), JobsJsonContext.Default.BatchObject, contentType: null, call.Aborted);
    }
}

/// <summary>GET /v1/batches[?after=&amp;limit=]: the caller's customer's batches, newest first.</summary>
public sealed class ListBatchesHandler(BatchStore batches, BatchViews views) : IApiHandler
{
    public static readonly ApiRoute Route = new("ListBatches", "GET", "/v1/batches", ApiAuth.ApiKey, typeof(ListBatchesHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Http.Request.Query;
        int limit = Pagination.Limit(query, 20, BatchStore.MaxListLimit);
        string? after = query["after"].FirstOrDefault() is { Length: > 0 } a ? a : null;
        var page = await batches.ListAsync(call.RequireCaller().CustomerId, after, limit, call.Aborted);
        var shown = page.Take(limit).ToList();
        var list = new BatchList(await views.ViewAsync(shown, call.Aborted), page.Count > limit);
        await call.Http.Response.WriteAsJsonAsync(list, JobsJsonContext.Default.BatchList, contentType: null, call.Aborted);
    }
}

/// <summary>POST /v1/batches/{id}/cancel: the batch stops scheduling work and finalizes with what is done.</summary>
public sealed class CancelBatchHandler(BatchStore batches, BatchViews views) : IApiHandler
{
    public static readonly ApiRoute Route = new("CancelBatch", "POST", "/v1/batches/{id}/cancel", ApiAuth.ApiKey, typeof(CancelBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var job = await batches.RequestCancelAsync(call.RequireCaller().CustomerId, call.RouteId ?? string.Empty, call.Aborted);
        await call.Http.Response.WriteAsJsonAsync(await views.ViewAsync(job, call.Aborted), JobsJsonContext.Default.BatchObject, contentType: null, call.Aborted);
    }
}

/// <summary>Batch rows as OpenAI's batch objects, with live counts for batches still running.</summary>
public sealed class BatchViews(BatchStore batches)
{
    public async Task<BatchObject> ViewAsync(BatchJob job, CancellationToken cancellationToken) =>
        (await ViewAsync([job], cancellationToken))[0];

    public async Task<IReadOnlyList<BatchObject>> ViewAsync(IReadOnlyList<BatchJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var running = jobs.Where(j => !BatchStatus.IsFinal(j.Status)).Select(j => j.Id).ToList();
        var progress = await batches.ProgressAsync(running, cancellationToken);
        return jobs.Select(j => From(j, progress.TryGetValue(j.Id, out var p) ? p : null)).ToList();
    }

    public BatchObject From(BatchJob job, (int Completed, int Failed)? progress)
    {
        ArgumentNullException.ThrowIfNull(job);
        var counts = BatchStatus.IsFinal(job.Status)
            ? new BatchRequestCounts(job.Total, job.Completed, job.Failed)
            : new BatchRequestCounts(job.Total, progress?.Completed ?? 0, job.InvalidLines + (progress?.Failed ?? 0));
        return new BatchObject(
            job.Id,
            job.Endpoint,
            job.Errors is null ? null : JsonSerializer.Deserialize(job.Errors, JobsJsonContext.Default.BatchErrors),
            job.InputFileId,
            job.CompletionWindow,
            job.Status,
            job.OutputFileId,
            job.ErrorFileId,
            job.CreatedAt.ToUnixTimeSeconds(),
            job.InProgressAt?.ToUnixTimeSeconds(),
            job.ExpiresAt.ToUnixTimeSeconds(),
            job.FinalizingAt?.ToUnixTimeSeconds(),
            job.CompletedAt?.ToUnixTimeSeconds(),
            job.FailedAt?.ToUnixTimeSeconds(),
            job.ExpiredAt?.ToUnixTimeSeconds(),
            job.CancellingAt?.ToUnixTimeSeconds(),
            job.CancelledAt?.ToUnixTimeSeconds(),
            counts,
            job.Metadata is null ? null : JsonSerializer.Deserialize(job.Metadata, JobsJsonContext.Default.DictionaryStringString));
    }
}
