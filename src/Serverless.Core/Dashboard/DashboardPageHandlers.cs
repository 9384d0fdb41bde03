using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Dashboard;

/// <summary>GET /dashboard: the page. It holds no data; the script fetches everything from /dashboard/api/... .</summary>
public sealed class DashboardPageHandler(DashboardAssets assets) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardPage", "GET", "/dashboard", ApiAuth.None, typeof(DashboardPageHandler));

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return DashboardAssetHandler.WriteAsync(call.Http, assets.Find(DashboardAssets.PageName)!);
    }
}

/// <summary>GET /dashboard/assets/{name}: the page's script, styles and icon.</summary>
public sealed class DashboardAssetHandler(DashboardAssets assets) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardAsset", "GET", "/dashboard/assets/{id}", ApiAuth.None, typeof(DashboardAssetHandler));

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var asset = assets.Find(call.RouteId);
        if (asset is null || asset.Name == DashboardAssets.PageName)
        {
            throw ApiException.NotFound($"No dashboard asset '{call.RouteId}'.", "asset_not_found");
        }

        return WriteAsync(call.Http, asset);
    }

    internal static async Task WriteAsync(HttpContext http, DashboardAsset asset)
    {
        var response = http.Response;
        DashboardResponses.SecurityHeaders(response);

        // Revalidated on every load (a cheap 304), so a deployment's new script and page are picked up together.
        response.Headers.CacheControl = "no-cache";
        response.Headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch.Contains(asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await response.Body.WriteAsync(asset.Content, http.RequestAborted);
        }
    }
}
