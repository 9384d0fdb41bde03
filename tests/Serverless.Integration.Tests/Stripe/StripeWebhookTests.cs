using System.Text.Json.Nodes;
using Serverless.Testing.Stripe;
using Stripe;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>Webhook bodies and signatures from the test helpers, checked by Stripe.net's own verification.</summary>
public sealed class StripeWebhookTests
{
    private static readonly DateTimeOffset PeriodStart = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly SubscriptionSnapshot SampleSubscription =
        new("sub_123", "cus_123", "active", "price_tokens", PeriodStart, PeriodStart.AddMonths(1)) { MeterId = "mtr_123" };

    private static readonly InvoiceSnapshot SampleInvoice =
        new("in_123", "cus_123", "open", 1250, 0, "usd", PeriodStart, PeriodStart.AddMonths(1)) { SubscriptionId = "sub_123" };

    public static TheoryData<string, string> SnapshotEvents => new()
    {
        { StripeEventPayloads.SubscriptionCreated(SampleSubscription), "customer.subscription.created" },
        { StripeEventPayloads.SubscriptionUpdated(SampleSubscription, new JsonObject { ["status"] = "trialing" }), "customer.subscription.updated" },
        { StripeEventPayloads.SubscriptionDeleted(SampleSubscription with { Status = "canceled", CanceledAt = PeriodStart.AddDays(3) }), "customer.subscription.deleted" },
        { StripeEventPayloads.InvoiceCreated(SampleInvoice with { Status = "draft" }), "invoice.created" },
        { StripeEventPayloads.InvoiceFinalized(SampleInvoice), "invoice.finalized" },
        { StripeEventPayloads.InvoicePaid(SampleInvoice with { Status = "paid", AmountPaid = 1250, AttemptCount = 1 }), "invoice.paid" },
        { StripeEventPayloads.InvoicePaymentFailed(SampleInvoice with { AttemptCount = 1, NextPaymentAttempt = PeriodStart.AddMonths(1).AddDays(3) }), "invoice.payment_failed" },
    };

    [Theory]
    [MemberData(nameof(SnapshotEvents))]
    public void Signed_snapshot_event_is_accepted_by_construct_event(string payload, string type)
    {
        var secret = StripeWebhook.NewSecret();

        var stripeEvent = EventUtility.ConstructEvent(payload, StripeWebhook.Sign(payload, secret, DateTimeOffset.UtcNow), secret);

        Assert.Equal(type, stripeEvent.Type);
        Assert.Equal(StripeConfiguration.ApiVersion, stripeEvent.ApiVersion);
        switch (stripeEvent.Data.Object)
        {
            case Subscription subscription:
                Assert.Equal(("sub_123", "cus_123"), (subscription.Id, subscription.CustomerId));
                var item = Assert.Single(subscription.Items.Data);
                Assert.Equal(("price_tokens", "mtr_123"), (item.Price.Id, item.Price.Recurring.Meter));
                Assert.Equal(PeriodStart.UtcDateTime, item.CurrentPeriodStart);
                break;
            case Invoice invoice:
                Assert.Equal(("in_123", "cus_123", "sub_123"), (invoice.Id, invoice.CustomerId, invoice.Parent.SubscriptionDetails.SubscriptionId));
                break;
            default:
                Assert.Fail($"Unexpected data object {stripeEvent.Data.Object?.GetType()}");
                break;
        }
    }

    [Fact]
    public void Updated_event_keeps_previous_attributes()
    {
        var payload = StripeEventPayloads.SubscriptionUpdated(SampleSubscription with { CancelAtPeriodEnd = true },
            new JsonObject { ["cancel_at_period_end"] = false });
        var secret = StripeWebhook.NewSecret();

        var stripeEvent = EventUtility.ConstructEvent(payload, StripeWebhook.Sign(payload, secret, DateTimeOffset.UtcNow), secret);

        Assert.True(((Subscription)stripeEvent.Data.Object).CancelAtPeriodEnd);
        Assert.NotNull(stripeEvent.Data.PreviousAttributes);
    }

    [Fact]
    public void Signature_older_than_the_300_second_tolerance_is_refused()
    {
        var payload = StripeEventPayloads.InvoicePaid(SampleInvoice);
        var secret = StripeWebhook.NewSecret();

        var error = Assert.Throws<StripeException>(
            () => EventUtility.ConstructEvent(payload, StripeWebhook.Sign(payload, secret, DateTimeOffset.UtcNow.AddSeconds(-301)), secret));

        Assert.Contains("outside of the allowed tolerance", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signature_made_with_another_secret_or_over_another_body_is_refused()
    {
        var payload = StripeEventPayloads.InvoicePaid(SampleInvoice);
        var secret = StripeWebhook.NewSecret();
        var header = StripeWebhook.Sign(payload, secret, DateTimeOffset.UtcNow);

        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(payload, header, StripeWebhook.NewSecret()));
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(payload.Replace("1250", "1", StringComparison.Ordinal), header, secret));
    }

    [Fact]
    public void Api_version_check_compares_only_the_major_release_name()
    {
        var secret = StripeWebhook.NewSecret();
        var otherMajor = StripeEventPayloads.InvoicePaid(SampleInvoice, new EventEnvelope(ApiVersion: "2025-03-31.basil"));
        var sameMajor = StripeEventPayloads.InvoicePaid(SampleInvoice, new EventEnvelope(ApiVersion: "2026-06-01.endive"));

        var mismatch = Assert.Throws<StripeException>(
            () => EventUtility.ConstructEvent(otherMajor, StripeWebhook.Sign(otherMajor, secret, DateTimeOffset.UtcNow), secret));
        var tolerated = EventUtility.ConstructEvent(otherMajor, StripeWebhook.Sign(otherMajor, secret, DateTimeOffset.UtcNow), secret,
            throwOnApiVersionMismatch: false);
        var accepted = EventUtility.ConstructEvent(sameMajor, StripeWebhook.Sign(sameMajor, secret, DateTimeOffset.UtcNow), secret);

        Assert.Contains("Received event with API version 2025-03-31.basil", mismatch.Message, StringComparison.Ordinal);
        Assert.Equal("2025-03-31.basil", tolerated.ApiVersion);
        Assert.Equal("2026-06-01.endive", accepted.ApiVersion);
    }

    [Fact]
    public async Task Signed_request_carries_the_body_and_a_header_stripe_net_verifies()
    {
        var payload = StripeEventPayloads.SubscriptionDeleted(SampleSubscription with { Status = "canceled" });
        var secret = StripeWebhook.NewSecret();

        using var request = StripeWebhook.CreateRequest(new Uri("http://service.test/webhooks/stripe"), payload, secret);
        var body = await request.Content!.ReadAsStringAsync();
        var header = Assert.Single(request.Headers.GetValues("Stripe-Signature"));

        Assert.Equal(payload, body);
        Assert.Equal("application/json", request.Content.Headers.ContentType?.MediaType);
        Assert.Equal("customer.subscription.deleted", EventUtility.ConstructEvent(body, header, secret).Type);
    }

    [Fact]
    public void Meter_error_report_thin_event_is_refused_by_construct_event_and_read_by_parse_event_notification()
    {
        var payload = StripeEventPayloads.MeterErrorReportTriggered("mtr_123");
        var secret = StripeWebhook.NewSecret();
        var header = StripeWebhook.Sign(payload, secret, DateTimeOffset.UtcNow);

        Assert.Throws<ArgumentException>(() => EventUtility.ConstructEvent(payload, header, secret));
        var notification = new StripeClient("sk_test_unused").ParseEventNotification(payload, header, secret);

        var errorReport = Assert.IsType<global::Stripe.Events.V1BillingMeterErrorReportTriggeredEventNotification>(notification);
        Assert.Equal("mtr_123", errorReport.RelatedObject.Id);
    }
}
