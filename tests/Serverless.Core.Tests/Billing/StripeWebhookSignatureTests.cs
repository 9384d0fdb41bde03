using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Billing;
using Serverless.Core.Http;

namespace Serverless.Core.Tests.Billing;

/// <summary>
/// The webhook signature against signatures computed here from Stripe's documented scheme: the header
/// <c>t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{payload}"}</c>, keyed with the whole whsec_ secret.
/// </summary>
public sealed class StripeWebhookSignatureTests
{
    private const string Secret = "whsec_test_0123456789abcdef";
    private const string Payload = "{\"id\":\"evt_1\",\"type\":\"invoice.paid\",\"created\":1800000000}";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 9, 30, 0, TimeSpan.Zero));

    private StripeWebhookSignature Signature(string? secret = Secret) =>
        new(Options.Create(new StripeOptions { WebhookSecret = secret, WebhookTolerance = TimeSpan.FromSeconds(300) }), _clock, NullLogger<StripeWebhookSignature>.Instance);

    private long Now => _clock.GetUtcNow().ToUnixTimeSeconds();

    private static string V1(long timestamp, string payload = Payload, string secret = Secret) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(secret),
            Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + payload)));

    private static string Header(long timestamp, params string[] signatures) =>
        string.Create(CultureInfo.InvariantCulture, $"t={timestamp}") + string.Concat(signatures.Select(s => ",v1=" + s));

    private void AssertRefused(string header, string payload = Payload)
    {
        var error = Assert.Throws<ApiException>(() => Signature().Verify(payload, header));
        Assert.Equal((400, "invalid_signature", "Stripe-Signature"), (error.Status, error.Code, error.Param));
    }

    [Fact]
    public void The_payload_signed_now_under_the_endpoint_secret_is_accepted()
    {
        Signature().Verify(Payload, Header(Now, V1(Now)));
    }

    [Fact]
    public void A_signature_under_another_secret_is_a_400_invalid_signature()
    {
        AssertRefused(Header(Now, V1(Now, secret: "whsec_someone_else")));
    }

    [Fact]
    public void A_payload_changed_after_signing_is_refused()
    {
        AssertRefused(Header(Now, V1(Now)), Payload.Replace("invoice.paid", "invoice.voided", StringComparison.Ordinal));
    }

    [Fact]
    public void A_signature_made_with_another_timestamp_than_the_header_names_is_refused()
    {
        AssertRefused(Header(Now, V1(Now - 1)));
    }

    [Fact]
    public void A_signature_up_to_the_tolerance_old_is_accepted_and_one_a_second_older_is_stale()
    {
        long edge = Now - 300;
        Signature().Verify(Payload, Header(edge, V1(edge)));

        long stale = Now - 301;
        AssertRefused(Header(stale, V1(stale)));
    }

    [Fact]
    public void Any_one_of_several_v1_signatures_may_match_as_while_the_secret_is_rolled()
    {
        Signature().Verify(Payload, Header(Now, V1(Now, secret: "whsec_old_secret"), V1(Now)));
        Signature().Verify(Payload, Header(Now, V1(Now), V1(Now, secret: "whsec_new_secret")));
    }

    [Fact]
    public void Several_v1_signatures_none_of_which_match_are_refused()
    {
        AssertRefused(Header(Now, V1(Now, secret: "whsec_a"), V1(Now, secret: "whsec_b")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("t=,v1=")]
    [InlineData("t=not-a-number,v1={v1}")]
    [InlineData("v1={v1}")]
    [InlineData("t={t}")]
    [InlineData("t={t},v0={v1}")]
    [InlineData("t={t};v1={v1}")]
    public void A_malformed_header_is_refused(string header)
    {
        AssertRefused(header
            .Replace("{t}", Now.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{v1}", V1(Now), StringComparison.Ordinal));
    }

    [Fact]
    public void Without_an_endpoint_secret_every_webhook_is_a_503_webhook_not_configured()
    {
        var error = Assert.Throws<ApiException>(() => Signature(secret: " ").RequireSecret());
        Assert.Equal((503, "webhook_not_configured"), (error.Status, error.Code));
        Assert.Throws<ApiException>(() => Signature(secret: null).Verify(Payload, Header(Now, V1(Now))));
        Signature().RequireSecret();
    }
}
