using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Http;

/// <summary>
/// The one entry point both hosts call for every route: request id, authentication, the route's handler,
/// and the mapping of every failure to OpenAI error JSON. Handlers never catch-and-hide. Each request is one span (its
/// route, request id, customer and key id, status) and every error answered is counted (<see cref="ServerlessMetrics"/>).
/// </summary>
public sealed partial class ApiDispatcher(IServiceProvider services, IApiAuthenticator authenticator, IRequestCounter counter, TimeProvider time, ILogger<ApiDispatcher> logger, ServerlessMetrics? metrics = null)
{
    public const string RequestIdHeader = "x-request-id";

    public async Task InvokeAsync(ApiRoute route, HttpContext http, string? routeId = null)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(http);
        string requestId = Ids.NewRequestId();
        http.Response.Headers[RequestIdHeader] = requestId;

        // Under a host's own HTTP span (ASP.NET Core, the Functions worker) this one is internal; alone, it is the server span.
        using var span = ServerlessTelemetry.Source.HasListeners()
            ? ServerlessTelemetry.Start($"{route.Method} {route.Pattern}", Activity.Current is null ? ActivityKind.Server : ActivityKind.Internal)
            : null;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryAttributes.HttpMethod, route.Method);
            span.SetTag(TelemetryAttributes.HttpRoute, route.Pattern);
            span.SetTag(TelemetryAttributes.RequestId, requestId);
        }

        try
        {
            ApiCaller? caller = null;
            bool countAfter = false;
            switch (route.Auth)
            {
                case ApiAuth.ApiKey:
                    caller = await authenticator.AuthenticateKeyAsync(http, http.RequestAborted);
                    TagCaller(span, caller);
                    RequirePermission(route, caller);
                    if (route.CountsRequest && counter.Enabled && await counter.CountRequestAsync(caller, requestId) is { } limits)
                    {
                        limits.WriteHeaders(http.Response, time.GetUtcNow());
                    }

                    // Generating routes are counted by their admission, with their tokens; one that ends before it
                    // (invalid input, a prompt that cannot fit, an idempotent replay) is counted here afterwards.
                    countAfter = !route.CountsRequest && counter.Enabled;
                    break;
                case ApiAuth.Admin:
                    authenticator.RequireAdmin(http);
                    break;
                case ApiAuth.Session:
                    caller = await services.GetRequiredService<ISessionAuthenticator>().AuthenticateSessionAsync(http, http.RequestAborted);
                    TagCaller(span, caller);
                    RequirePermission(route, caller);
                    break;
            }

            var handler = (IApiHandler)services.GetRequiredService(route.Handler);
            var call = new ApiCall(http, requestId, caller, routeId);
            try
            {
                await handler.HandleAsync(call);
            }
            catch (ApiException refused) when (countAfter && !call.CountedAgainstRate)
            {
                // Refusing costs the service too, so a refused request uses up the rate like any other; once the
                // window is full, the answer is the rate limit, not another validation error.
                if (await CountAfterAsync(caller!, requestId) is { } limited && refused.Status != StatusCodes.Status429TooManyRequests && refused.Status < 500)
                {
                    throw limited;
                }

                throw;
            }

            if (countAfter && !call.CountedAgainstRate)
            {
                await CountAfterAsync(caller!, requestId);
            }

            span?.SetTag(TelemetryAttributes.HttpStatusCode, http.Response.StatusCode);
        }
        catch (ApiException ex)
        {
            LogRejected(logger, route.Name, ex.Status, ex.Code ?? ex.Type, requestId);
            Failed(span, route, ex.Status, ex.Code ?? ex.Type);
            if (ex.RateLimits is { } limits && !http.Response.HasStarted)
            {
                limits.WriteHeaders(http.Response, time.GetUtcNow());
            }

            await WriteErrorAsync(http, ex);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            LogClientGone(logger, route.Name, requestId);
            span?.SetTag(TelemetryAttributes.ErrorType, ClientGone);
        }
        catch (BadHttpRequestException ex)
        {
            // The body could not be read as HTTP (broken chunked encoding, slower than the server's minimum rate,
            // larger than it allows): the client's fault, answered with the status the server chose for it.
            var error = BodyReadFailed(ex);
            LogRejected(logger, route.Name, error.Status, error.Code!, requestId);
            Failed(span, route, error.Status, error.Code!);
            await WriteErrorAsync(http, error);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFailed(logger, ex, route.Name, requestId);
            Failed(span, route, StatusCodes.Status500InternalServerError, ex.GetType().FullName!);
            await WriteErrorAsync(http, new ApiException(
                StatusCodes.Status500InternalServerError, "server_error", null,
                $"The server had an error while processing your request. Request id: {requestId}."));
        }
    }

    /// <summary>The error.type of a request whose client went away before it was answered.</summary>
    public const string ClientGone = "client_disconnected";

    private static void TagCaller(Activity? span, ApiCaller caller)
    {
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryAttributes.CustomerId, caller.CustomerId);
            span.SetTag(TelemetryAttributes.KeyId, caller.KeyId);
        }
    }

    // The status and code answered, on the span (error.type: the code, so refusals can be told apart) and in
    // serverless.api.errors; only a 5xx marks the span as failed (a 4xx is the client's, as in the HTTP conventions).
    private void Failed(Activity? span, ApiRoute route, int status, string code)
    {
        metrics?.CountApiError(status, code, route.Pattern);
        if (span is not null)
        {
            span.SetTag(TelemetryAttributes.HttpStatusCode, status);
            span.SetTag(TelemetryAttributes.ErrorType, code);
            if (status >= 500)
            {
                span.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    private static ApiException BodyReadFailed(BadHttpRequestException ex) => ex.StatusCode switch
    {
        StatusCodes.Status408RequestTimeout => new ApiException(ex.StatusCode, "invalid_request_error", "request_timeout",
            "The request body arrived too slowly; send it at once and try again."),
        StatusCodes.Status413PayloadTooLarge => new ApiException(ex.StatusCode, "invalid_request_error", "request_too_large",
            "The request body is larger than this server accepts."),
        _ => new ApiException(ex.StatusCode is >= 400 and < 500 ? ex.StatusCode : StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_request_body",
            $"The request body could not be read: {ex.Message}"),
    };

    // Counts a request its admission did not; the rate-limit refusal if the window was already full, else null.
    // A ledger that cannot be written loses the count rather than the request's own answer.
    private async Task<ApiException?> CountAfterAsync(ApiCaller caller, string requestId)
    {
        try
        {
            await counter.CountRequestAsync(caller, requestId);
            return null;
        }
        catch (ApiException ex) when (ex.Status == StatusCodes.Status429TooManyRequests)
        {
            return ex;
        }
        catch (ApiException ex)
        {
            LogUncounted(logger, requestId, ex.Code ?? ex.Type);
            return null;
        }
    }

    /// <summary>The one permission check of the service: the route's permission against the caller's key.</summary>
    public static void RequirePermission(ApiRoute route, ApiCaller caller)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(caller);
        var missing = route.Permission is { } permission && !caller.Has(permission) ? permission
            : route.AlsoRequires is { } second && !caller.Has(second) ? second
            : null;
        if (missing is not null)
        {
            throw ApiException.Forbidden(
                $"You have insufficient permissions for this operation. Missing permission: {missing} (needed for {route.Method} {route.Pattern}). Use a key that has it, or ask for one.",
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{RequestId} was not counted against its rate limits: {Code}")]
    private static partial void LogUncounted(ILogger logger, string requestId, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Route}: client disconnected ({RequestId})")]
    private static partial void LogClientGone(ILogger logger, string route, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Route} failed ({RequestId})")]
    private static partial void LogFailed(ILogger logger, Exception exception, string route, string requestId);
}
