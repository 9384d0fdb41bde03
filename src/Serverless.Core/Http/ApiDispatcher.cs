using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Core.Metering;

namespace Serverless.Core.Http;

/// <summary>
/// The one entry point both hosts call for every route: request id, authentication, the route's handler,
/// and the mapping of every failure to OpenAI error JSON. Handlers never catch-and-hide.
/// </summary>
public sealed partial class ApiDispatcher(IServiceProvider services, IApiAuthenticator authenticator, MeteringService metering, ILogger<ApiDispatcher> logger)
{
    public const string RequestIdHeader = "x-request-id";

    public async Task InvokeAsync(ApiRoute route, HttpContext http, string? routeId = null)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(http);
        string requestId = Ids.NewRequestId();
        http.Response.Headers[RequestIdHeader] = requestId;
        try
        {
            ApiCaller? caller = null;
            switch (route.Auth)
            {
                case ApiAuth.ApiKey:
                    caller = await authenticator.AuthenticateKeyAsync(http, http.RequestAborted);
                    RequirePermission(route, caller);
                    if (route.CountsRequest && metering.Enabled && await metering.CountRequestAsync(caller, requestId) is { } limits)
                    {
                        metering.WriteRateLimitHeaders(http.Response, limits);
                    }

                    break;
                case ApiAuth.Admin:
                    authenticator.RequireAdmin(http);
                    break;
                case ApiAuth.Session:
                    caller = await services.GetRequiredService<ISessionAuthenticator>().AuthenticateSessionAsync(http, http.RequestAborted);
                    RequirePermission(route, caller);
                    break;
            }

            var handler = (IApiHandler)services.GetRequiredService(route.Handler);
            await handler.HandleAsync(new ApiCall(http, requestId, caller, routeId));
        }
        catch (ApiException ex)
        {
            LogRejected(logger, route.Name, ex.Status, ex.Code ?? ex.Type, requestId);
            if (ex.RateLimits is { } limits && !http.Response.HasStarted)
            {
                metering.WriteRateLimitHeaders(http.Response, limits);
            }

            await WriteErrorAsync(http, ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            LogClientGone(logger, route.Name, requestId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFailed(logger, ex, route.Name, requestId);
            await WriteErrorAsync(http, new ApiException(
                StatusCodes.Status500InternalServerError, "server_error", null,
                $"The server had an error while processing your request. Request id: {requestId}."));
        }
    }

    /// <summary>The one permission check of the service: the route's permission against the caller's key.</summary>
    public static void RequirePermission(ApiRoute route, ApiCaller caller)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(caller);
        if (route.Permission is { } permission && !caller.Has(permission))
        {
            throw ApiException.Forbidden(
                $"You have insufficient permissions for this operation. Missing permission: {permission} (needed for {route.Method} {route.Pattern}). Use a key that has it, or ask for one.",
                "insufficient_permissions");
        }
    }

    public static async Task WriteErrorAsync(HttpContext http, ApiException error)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(error);
        if (http.Response.HasStarted)
        {
            // Mid-stream failures are reported in the stream by the handler; nothing more can be sent here.
            return;
        }

        http.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is int seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        var envelope = new ApiErrorEnvelope(new ApiErrorBody(error.Message, error.Type, error.Param, error.Code));
        await http.Response.WriteAsJsonAsync(envelope, ApiJsonContext.Default.ApiErrorEnvelope, contentType: "application/json", CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Route} rejected with {Status} {Code} ({RequestId})")]
    private static partial void LogRejected(ILogger logger, string route, int status, string code, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Route}: client disconnected ({RequestId})")]
    private static partial void LogClientGone(ILogger logger, string route, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Route} failed ({RequestId})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string route, string requestId);
}
