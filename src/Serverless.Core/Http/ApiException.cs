using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>
/// An error that reaches the client as OpenAI error JSON. Handlers throw it; <see cref="ApiDispatcher"/>
/// is the one place that turns it into a response, so every route answers errors the same way.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException(int status, string type, string? code, string message, string? param = null)
        : base(message)
    {
        Status = status;
        Type = type;
        Code = code;
        Param = param;
    }

    public ApiException()
        : this(StatusCodes.Status500InternalServerError, "server_error", null, "Internal error.")
    {
    }

    public ApiException(string message)
        : this(StatusCodes.Status400BadRequest, "invalid_request_error", null, message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = StatusCodes.Status500InternalServerError;
        Type = "server_error";
    }

    public int Status { get; }

    public string Type { get; } = "server_error";

    public string? Code { get; }

    public string? Param { get; }

    /// <summary>Seconds the client should wait before retrying; sent as Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Rate-limit state to report in x-ratelimit-* headers along with the error.</summary>
    public RateLimitState? RateLimits { get; init; }

    public static ApiException BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", code, message, param);

    public static ApiException InvalidType(string param, string expected, string got) =>
        BadRequest($"Invalid type for '{param}': expected {expected}, but got {got} instead.", param, "invalid_type");

    public static ApiException InvalidValue(string param, string message) =>
        BadRequest(message, param, "invalid_value");

    public static ApiException MissingParameter(string param) =>
        BadRequest($"Missing required parameter: '{param}'.", param, "missing_required_parameter");

    public static ApiException InvalidApiKey(string message) =>
        new(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_api_key", message);

    public static ApiException Forbidden(string message, string? code = null) =>
        new(StatusCodes.Status403Forbidden, "permission_error", code, message);

    public static ApiException NotFound(string message, string? code = null, string? param = null) =>
        new(StatusCodes.Status404NotFound, "invalid_request_error", code, message, param);

    public static ApiException ModelNotFound(string model) =>
        NotFound($"The model '{model}' does not exist or you do not have access to it.", "model_not_found", "model");

    public static ApiException PayloadTooLarge(long limitBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "request_too_large",
            string.Create(CultureInfo.InvariantCulture, $"Request body is larger than the limit of {limitBytes} bytes."));

    public static ApiException UnsupportedMediaType() =>
        new(StatusCodes.Status415UnsupportedMediaType, "invalid_request_error", "unsupported_media_type",
            "Request body must be JSON (Content-Type: application/json).");

    public static ApiException Overloaded(int retryAfterSeconds) =>
        new(StatusCodes.Status429TooManyRequests, "server_overloaded_error", "server_overloaded",
            "The server is at capacity for this model. Retry after the delay given in the Retry-After header.")
        { RetryAfterSeconds = retryAfterSeconds };

    public static ApiException ModelUnavailable(string model, int retryAfterSeconds) =>
        new(StatusCodes.Status503ServiceUnavailable, "service_unavailable_error", "model_unavailable",
            $"The model '{model}' could not be loaded on this instance. The load is retried on a later request.", "model")
        { RetryAfterSeconds = retryAfterSeconds };
}
