using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Core.Jobs;
using Serverless.Core.Keys;

namespace Serverless.Core.Dashboard;

/// <summary>GET /dashboard/api/batches?limit=&amp;before=: the customer's batch jobs, newest first, a page at a time, with their cost.</summary>
public sealed class DashboardBatchesHandler(DashboardBatches batches) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardBatches", "GET", "/dashboard/api/batches", ApiAuth.Session, typeof(DashboardBatchesHandler)) { Permission = ApiKeyPermissions.Batches };

    public const int DefaultLimit = 10;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Http.Request.Query;
        int limit = Pagination.Limit(query, DefaultLimit, BatchStore.MaxListLimit);
        string? before = query["before"].FirstOrDefault() is { Length: > 0 } b ? b : null;
        var page = await batches.PageAsync(call.RequireCaller().CustomerId, before, limit, call.Aborted);
        await DashboardResponses.WriteJsonAsync(call.Http, page, DashboardJsonContext.Default.DashboardBatchPage);
    }
}

/// <summary>
/// POST /dashboard/api/batches/{id}/cancel: stops one of the customer's running batches (CSRF-protected like every change).
/// Another customer's batch answers 404, exactly like an id that does not exist.
/// </summary>
public sealed class DashboardCancelBatchHandler(DashboardBatches batches) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardCancelBatch", "POST", "/dashboard/api/batches/{id}/cancel", ApiAuth.Session, typeof(DashboardCancelBatchHandler)) { Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var batch = await batches.CancelAsync(call.RequireCaller().CustomerId, call.RouteId ?? string.Empty, call.Aborted);
        await DashboardResponses.WriteJsonAsync(call.Http, batch, DashboardJsonContext.Default.DashboardBatchObject);
    }
}

/// <summary>
/// GET /dashboard/api/files/{id}/content: downloads one of the customer's files (a batch's output or error file) with
/// the session cookie, so the browser needs no API key. The Files API's own handler answers, ownership check included.
/// </summary>
public sealed class DashboardFileContentHandler(FileStore files) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardFileContent", "GET", "/dashboard/api/files/{id}/content", ApiAuth.Session, typeof(DashboardFileContentHandler)) { Permission = ApiKeyPermissions.Batches };

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var response = call.Http.Response;
        DashboardResponses.SecurityHeaders(response);

        // The customer's data: never kept by a shared cache or the browser's.
        response.Headers.CacheControl = "no-store";
        return GetFileContentHandler.WriteContentAsync(call, files);
    }
}
