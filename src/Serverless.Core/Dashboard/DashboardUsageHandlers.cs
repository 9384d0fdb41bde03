using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Keys;
using Serverless.Core.Metering;

namespace Serverless.Core.Dashboard;

/// <summary>GET /dashboard/api/overview: the signed-in customer's period totals, budget, forecast, daily usage and breakdowns.</summary>
public sealed class DashboardOverviewHandler(DashboardOverview overview) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardOverview", "GET", "/dashboard/api/overview", ApiAuth.Session, typeof(DashboardOverviewHandler)) { Permission = ApiKeyPermissions.UsageRead };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var result = await overview.BuildAsync(call.RequireCaller().CustomerId, call.Aborted);
        await DashboardResponses.WriteJsonAsync(call.Http, result, DashboardJsonContext.Default.OverviewObject);
    }
}

/// <summary>GET /dashboard/api/chart?width=N: the last 30 days as an SVG chart (<see cref="UsageChartSvg"/>).</summary>
public sealed class DashboardChartHandler(DashboardOverview overview, TimeProvider time) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardChart", "GET", "/dashboard/api/chart", ApiAuth.Session, typeof(DashboardChartHandler)) { Permission = ApiKeyPermissions.UsageRead };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string? widthText = call.Query("width");
        int width = UsageChartSvg.DefaultWidth;
        if (widthText is not null && !int.TryParse(widthText, NumberStyles.None, CultureInfo.InvariantCulture, out width))
        {
            throw ApiException.InvalidValue("width", $"'width' must be a whole number of pixels; got '{widthText}'.");
        }

        var (_, _, days) = await overview.DailyAsync(call.RequireCaller().CustomerId, time.GetUtcNow(), call.Aborted);
        var response = call.Http.Response;
        DashboardResponses.SecurityHeaders(response);
        response.Headers.CacheControl = "no-store";
        response.ContentType = "image/svg+xml; charset=utf-8";
        await response.WriteAsync(UsageChartSvg.Render(days, width), call.Aborted);
    }
}

/// <summary>GET /dashboard/api/requests?limit=&amp;before=: the customer's requests, newest first, a page at a time.</summary>
public sealed class DashboardRequestsHandler(UsageQueries usage) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardRequests", "GET", "/dashboard/api/requests", ApiAuth.Session, typeof(DashboardRequestsHandler)) { Permission = ApiKeyPermissions.UsageRead };

    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Http.Request.Query;
        long limit = UsageRange.ParseLimit(query) ?? DefaultLimit;
        if (limit > MaxLimit)
        {
            throw ApiException.InvalidValue("limit", $"'limit' must be at most {MaxLimit}.");
        }

        UsageCursor? before = null;
        string? cursorText = query["before"].FirstOrDefault();
        if (!string.IsNullOrEmpty(cursorText))
        {
            before = UsageCursor.TryParse(cursorText, out var cursor)
                ? cursor
                : throw ApiException.InvalidValue("before", "'before' must be a next_cursor value from a previous page.");
        }

        // One more than asked tells whether another page exists without counting.
        var records = await usage.RecentAsync(call.RequireCaller().CustomerId, before, (int)limit + 1, call.Aborted);
        bool more = records.Count > limit;
        var page = records.Take((int)limit).ToList();
        var result = new RequestPage(
            page.ConvertAll(r => new RequestObject(r.RequestId, r.EndedAt.ToUnixTimeMilliseconds(), r.Model, r.KeyId, r.PromptTokens, r.CompletionTokens, r.CostMicroUsd, r.Outcome, r.BatchId)),
            more,
            more ? new UsageCursor(page[^1].EndedAt.ToUnixTimeMilliseconds(), page[^1].Id).ToString() : null);
        await DashboardResponses.WriteJsonAsync(call.Http, result, DashboardJsonContext.Default.RequestPage);
    }
}
