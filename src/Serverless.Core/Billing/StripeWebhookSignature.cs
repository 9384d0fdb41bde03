using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Stripe;

namespace Serverless.Core.Billing;

/// <summary>
/// Stripe's webhook signature: <c>Stripe-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{payload}"}</c> (one or
/// more v1 entries, any of which may match) under the endpoint secret Stripe:WebhookSecret, signed no longer than
/// Stripe:WebhookTolerance ago. Checked before anything else of a webhook is read.
/// </summary>
public sealed partial class StripeWebhookSignature(IOptions<StripeOptions> options, TimeProvider time, ILogger<StripeWebhookSignature> logger)
{
    public const string Header = "Stripe-Signature";

    private readonly StripeOptions _options = options.Value;

    /// <summary>A 503 webhook_not_configured when there is no endpoint secret to check signatures with.</summary>
    public void RequireSecret()
    {
        if (string.IsNullOrWhiteSpace(_options.WebhookSecret))
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "service_unavailable_error", "webhook_not_configured", "Stripe:WebhookSecret is not configured.");
        }
    }

    /// <summary>A 400 invalid_signature unless <paramref name="signature"/> (the header's value) signs <paramref name="payload"/>.</summary>
    public void Verify(string payload, string signature)
    {
        RequireSecret();
        try
        {
            EventUtility.ValidateSignature(payload, signature, _options.WebhookSecret, (long)_options.WebhookTolerance.TotalSeconds, time.GetUtcNow().ToUnixTimeSeconds());
        }
        catch (StripeException ex)
        {
            LogRejected(logger, ex.Message);
            throw ApiException.BadRequest("Invalid or stale Stripe-Signature.", Header, "invalid_signature");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe webhook rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);
}
