using System.Globalization;
using System.Text.Json.Nodes;

namespace Serverless.Testing.Stripe;

/// <summary>Stripe's error bodies: <c>{"error":{"type","code","message","param","doc_url"}}</c> for v1, <c>{"error":{"type","code","message"}}</c> for v2.</summary>
internal static class StripeErrors
{
    public const string InvalidRequest = "invalid_request_error";

    public static FakeStripeResponse V1(int status, string type, string message, string? code = null, string? param = null)
    {
        var error = new JsonObject { ["message"] = message, ["type"] = type };
        if (code is not null)
        {
            error["code"] = code;
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + code.Replace('_', '-');
        }

        if (param is not null)
        {
            error["param"] = param;
        }

        return FakeStripeResponse.Json(status, new JsonObject { ["error"] = error });
    }

    public static FakeStripeResponse V2(int status, string type, string message, string? code = null)
    {
        var error = new JsonObject { ["type"] = type, ["message"] = message };
        if (code is not null)
        {
            error["code"] = code;
        }

        return FakeStripeResponse.Json(status, new JsonObject { ["error"] = error });
    }

    public static FakeStripeResponse Invalid(string message, string? param = null, string? code = null) =>
        V1(400, InvalidRequest, message, code, param);

    public static FakeStripeResponse Missing(string param) =>
        Invalid($"Missing required param: {param}.", param, "parameter_missing");

    public static FakeStripeResponse Unknown(string param) =>
        Invalid($"Received unknown parameter: {param}", param, "parameter_unknown");

    public static FakeStripeResponse NoSuch(string what, string id, string param = "id") =>
        V1(404, InvalidRequest, $"No such {what}: '{id}'", "resource_missing", param);

    public static FakeStripeResponse UnrecognizedUrl(string method, string path) =>
        V1(404, InvalidRequest,
            $"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.");

    public static FakeStripeResponse RateLimited(bool v2, string message, TimeSpan retryAfter)
    {
        var response = v2 ? V2(429, "rate_limit", message, "rate_limit") : V1(429, InvalidRequest, message, "rate_limit");
        var seconds = (long)Math.Ceiling(Math.Max(retryAfter.TotalSeconds, 0));
        return response.WithHeader("Retry-After", seconds.ToString(CultureInfo.InvariantCulture));
    }

    public static FakeStripeResponse ServerError(bool v2) => v2
        ? V2(500, "api_error", "An unknown error occurred")
        : V1(500, "api_error", "An unknown error occurred");
}
