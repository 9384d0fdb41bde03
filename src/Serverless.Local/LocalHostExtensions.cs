using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Serverless.Core.Http;

namespace Serverless.Local;

internal static class LocalHostExtensions
{
    /// <summary>What the Functions host gives for free: quiet framework logs and no server header.</summary>
    public static WebApplicationBuilder AddLocalHost(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        return builder;
    }

    /// <summary>Unknown routes and wrong methods answer in OpenAI's error shape too, not with an empty body.</summary>
    public static WebApplication UseOpenAiErrorPages(this WebApplication app)
    {
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            int status = http.Response.StatusCode;
            string message = status switch
            {
                StatusCodes.Status404NotFound => $"Unknown request URL: {http.Request.Method} {http.Request.Path}.",
                StatusCodes.Status405MethodNotAllowed => $"Method {http.Request.Method} is not allowed for {http.Request.Path}.",
                _ => string.Create(CultureInfo.InvariantCulture, $"Request failed with status {status}."),
            };
            string code = status == StatusCodes.Status404NotFound ? "unknown_url" : "method_not_allowed";
            await ApiDispatcher.WriteErrorAsync(http, new ApiException(status, "invalid_request_error", code, message));
        });
        return app;
    }
}
