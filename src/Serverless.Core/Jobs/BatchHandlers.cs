using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Jobs;

/// <summary>POST /v1/batches {input_file_id, endpoint, completion_window: "24h", metadata}: creates a batch and starts its orchestration.</summary>
public sealed class CreateBatchHandler(BatchCreation creation, BatchViews views) : IApiHandler
{
    public static readonly ApiRoute Route = new("CreateBatch", "POST", "/v1/batches", ApiAuth.ApiKey, typeof(CreateBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches, AlsoRequires = ApiKeyPermissions.Inference };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
        var job = await creation.CreateAsync(caller, BatchRequest.Read(body.RootElement), call.Aborted);
        await call.WriteJsonAsync(views.From(job, null), JobsJsonContext.Default.BatchObject);
    }
}

/// <summary>GET /v1/batches/{id}.</summary>
public sealed class GetBatchHandler(BatchStore batches, BatchViews views) : IApiHandler
{
    public static readonly ApiRoute Route = new("GetBatch", "GET", "/v1/batches/{id}", ApiAuth.ApiKey, typeof(GetBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var job = await batches.GetAsync(call.RequireCaller().CustomerId, call.RouteId ?? string.Empty, call.Aborted);
        await call.WriteJsonAsync(await views.ViewAsync(job, call.Aborted), JobsJsonContext.Default.BatchObject);
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
        await call.WriteJsonAsync(list, JobsJsonContext.Default.BatchList);
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
        await call.WriteJsonAsync(await views.ViewAsync(job, call.Aborted), JobsJsonContext.Default.BatchObject);
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
