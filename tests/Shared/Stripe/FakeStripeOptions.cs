using Stripe;

namespace Serverless.Testing.Stripe;

/// <summary>How a <see cref="FakeStripeServer"/> behaves; the defaults are Stripe's.</summary>
public sealed class FakeStripeOptions
{
    /// <summary>The only secret key the fake accepts (as <c>Authorization: Bearer</c>).</summary>
    public string ApiKey { get; set; } = "sk_test_fake" + Guid.NewGuid().ToString("N");

    /// <summary>The only <c>Stripe-Version</c> accepted: the one the referenced Stripe.net pins.</summary>
    public string ApiVersion { get; set; } = StripeConfiguration.ApiVersion;

    /// <summary>The fake's clock: timestamp ranges, 24 h windows and session expiry all read it.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Serve the v2 meter event stream on its own port (Stripe's meter-events host) and nothing else there, so a
    /// client that sends a call to the wrong base URL gets a 404 as it would from Stripe. When false, one port serves all.
    /// </summary>
    public bool SeparateMeterEventsHost { get; set; } = true;

    public TimeSpan MeterEventSessionLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Stripe keeps meter event identifiers unique over a rolling window of at least 24 h.</summary>
    public TimeSpan IdentifierWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Idempotency keys are kept for 24 h.</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A meter event can be cancelled within 24 h of being received.</summary>
    public TimeSpan CancelWindow { get; set; } = TimeSpan.FromHours(24);

    public TimeSpan MaxTimestampAge { get; set; } = TimeSpan.FromDays(35);

    public TimeSpan MaxTimestampLead { get; set; } = TimeSpan.FromMinutes(5);

    public int MaxStreamEvents { get; set; } = 100;

    /// <summary>Signs the webhooks the fake sends.</summary>
    public string WebhookSecret { get; set; } = StripeWebhook.NewSecret();

    /// <summary>Where meter error reports are posted as signed thin events; null sends none (they are still recorded).</summary>
    public Uri? WebhookEndpoint { get; set; }

    /// <summary>Carries webhook posts (e.g. a TestServer's handler); null uses a plain socket handler.</summary>
    public HttpMessageHandler? WebhookHandler { get; set; }
}
