using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Dashboard;

/// <summary>Headers every dashboard response carries, and JSON answers that no cache keeps.</summary>
internal static class DashboardResponses
{
    /// <summary>
    /// Scripts, styles and data only from this origin, no inline script or style, no framing, no plugins: an
    /// injected tag could neither run nor load anything even if output escaping failed somewhere.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static void SecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
    }

    public static Task WriteJsonAsync<T>(HttpContext http, T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK)
    {
        var response = http.Response;
        SecurityHeaders(response);
        response.Headers.CacheControl = "no-store";
        response.StatusCode = status;
        return response.WriteAsJsonAsync(value, type, contentType: "application/json; charset=utf-8", http.RequestAborted);
    }
}
