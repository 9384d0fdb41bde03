using System.Net;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Billing;
using Serverless.Core.Keys;
using Serverless.Integration.Tests.Fixtures;
using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.Billing;

[Collection(BillingTestGroup.Name)]
public sealed class WebhookTests(BillingFixture billing)
{
    private Uri Endpoint => new(billing.BaseAddress, "/stripe/webhook");

    private async Task<HttpResponseMessage> PostAsync(string payload, string? secret = null, DateTimeOffset? timestamp = null)
    {
        using var client = new HttpClient();
        using var request = StripeWebhook.CreateRequest(Endpoint, payload, secret ?? billing.WebhookSecret, timestamp);
        return await client.SendAsync(request);
    }

    private static SubscriptionSnapshot Subscription(string stripeCustomer, string status) =>
        new("sub_" + Guid.NewGuid().ToString("N")[..14], stripeCustomer, status, "price_tokens", DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(27));

    [Fact]
    public async Task A_canceled_subscription_disables_the_customers_keys_and_reactivation_restores_them()
    {
        var customer = await billing.CustomerAsync("webhook-sub-co");
        var key = await billing.CreateKeyAsync(customer.Id);
        using var client = billing.CreateClient(key.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);

        using (var deleted = await PostAsync(StripeEventPayloads.SubscriptionDeleted(Subscription(customer.StripeCustomerId!, "canceled"))))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using (var refused = await client.GetAsync("/v1/models"))
        {
            Assert.Equal("invalid_api_key", (await refused.ReadErrorAsync(401)).GetProperty("code").GetString());
        }

        using (var reactivated = await PostAsync(StripeEventPayloads.SubscriptionCreated(Subscription(customer.StripeCustomerId!, "active"))))
        {
            Assert.Equal(HttpStatusCode.OK, reactivated.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        await using var db = billing.Database();
        Assert.Equal("active", (await db.Customers.SingleAsync(c => c.Id == customer.Id)).SubscriptionStatus);
    }

    [Fact]
    public async Task Invalid_and_stale_signatures_are_refused_and_nothing_is_processed()
    {
        var customer = await billing.CustomerAsync("webhook-sig-co");
        string payload = StripeEventPayloads.SubscriptionDeleted(Subscription(customer.StripeCustomerId!, "canceled"));

        using (var wrongSecret = await PostAsync(payload, secret: StripeWebhook.NewSecret()))
        {
            Assert.Equal("invalid_signature", (await wrongSecret.ReadErrorAsync(400)).GetProperty("code").GetString());
        }

        using (var stale = await PostAsync(payload, timestamp: DateTimeOffset.UtcNow.AddSeconds(-301)))
        {
            await stale.ReadErrorAsync(400);
        }

        using (var client = new HttpClient())
        using (var unsigned = await client.PostAsync(Endpoint, ApiResponses.Json(payload)))
        {
            await unsigned.ReadErrorAsync(400);
        }

        using (var tampered = new HttpClient())
        {
            using var request = StripeWebhook.CreateRequest(Endpoint, payload, billing.WebhookSecret);
            request.Content = ApiResponses.Json(payload.Replace("canceled", "active", StringComparison.Ordinal));
            using var response = await tampered.SendAsync(request);
            await response.ReadErrorAsync(400);
        }

        await using var db = billing.Database();
        Assert.False((await db.Customers.SingleAsync(c => c.Id == customer.Id)).Disabled);
    }

    [Fact]
    public async Task A_replayed_event_is_acknowledged_and_ignored()
    {
        var customer = await billing.CustomerAsync("webhook-replay-co");
        string eventId = "evt_" + Guid.NewGuid().ToString("N");
        var invoice = new InvoiceSnapshot("in_" + Guid.NewGuid().ToString("N")[..14], customer.StripeCustomerId!, "open", 1250, 0, "usd",
            DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow);
        using (var first = await PostAsync(StripeEventPayloads.InvoiceFinalized(invoice, new EventEnvelope(eventId))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // The same event id again, even carrying other data, changes nothing.
        using (var replay = await PostAsync(StripeEventPayloads.InvoicePaid(invoice with { Status = "paid", AmountPaid = 1250 }, new EventEnvelope(eventId))))
        {
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
            Assert.Contains("duplicate", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await using var db = billing.Database();
        var period = await db.Set<BillingPeriod>().SingleAsync(p => p.InvoiceId == invoice.Id);
        Assert.Equal("open", period.Status);
        Assert.Equal(1250, period.AmountDue);
        Assert.Equal(customer.Id, period.CustomerId);

        using var paid = await PostAsync(StripeEventPayloads.InvoicePaid(invoice with { Status = "paid", AmountPaid = 1250 }));
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        await using var after = billing.Database();
        Assert.Equal("paid", (await after.Set<BillingPeriod>().SingleAsync(p => p.InvoiceId == invoice.Id)).Status);
    }

    [Fact]
    public async Task An_older_subscription_event_delivered_after_a_cancellation_does_not_re_enable_the_customer()
    {
        var customer = await billing.CustomerAsync("webhook-order-co");
        var key = await billing.CreateKeyAsync(customer.Id);
        using var client = billing.CreateClient(key.Key);
        var subscription = Subscription(customer.StripeCustomerId!, "active");
        var now = DateTimeOffset.UtcNow;

        using (var deleted = await PostAsync(StripeEventPayloads.SubscriptionDeleted(subscription with { Status = "canceled" }, new EventEnvelope(Created: now))))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        // Stripe retried an update from an hour earlier; it arrives last.
        using (var late = await PostAsync(StripeEventPayloads.SubscriptionUpdated(subscription, envelope: new EventEnvelope(Created: now.AddHours(-1)))))
        {
            Assert.Equal(HttpStatusCode.OK, late.StatusCode);
        }

        Assert.Equal("invalid_api_key", (await (await client.GetAsync("/v1/models")).ReadErrorAsync(401)).GetProperty("code").GetString());
        await using var db = billing.Database();
        Assert.Equal("canceled", (await db.Customers.SingleAsync(c => c.Id == customer.Id)).SubscriptionStatus);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Subscription_events_end_in_the_newest_state_whatever_order_they_arrive_in(bool newestFirst)
    {
        var customer = await billing.CustomerAsync($"webhook-either-{newestFirst}-co".ToLowerInvariant());
        var key = await billing.CreateKeyAsync(customer.Id);
        using var client = billing.CreateClient(key.Key);
        var subscription = Subscription(customer.StripeCustomerId!, "unpaid");
        var now = DateTimeOffset.UtcNow;
        string older = StripeEventPayloads.SubscriptionUpdated(subscription, envelope: new EventEnvelope(Created: now.AddMinutes(-10)));
        string newer = StripeEventPayloads.SubscriptionUpdated(subscription with { Status = "active" }, envelope: new EventEnvelope(Created: now));
        // And one of the same second as the newest that comes earlier in a subscription's life: the later state wins the tie.
        string tie = StripeEventPayloads.SubscriptionUpdated(subscription with { Status = "incomplete" }, envelope: new EventEnvelope(Created: now));

        foreach (var payload in newestFirst ? new[] { newer, tie, older } : [older, tie, newer])
        {
            using var response = await PostAsync(payload);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        await using var db = billing.Database();
        Assert.Equal("active", (await db.Customers.SingleAsync(c => c.Id == customer.Id)).SubscriptionStatus);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invoice_events_end_in_the_newest_state_whatever_order_they_arrive_in(bool newestFirst)
    {
        var customer = await billing.CustomerAsync($"webhook-invoice-{newestFirst}-co".ToLowerInvariant());
        var invoice = new InvoiceSnapshot("in_" + Guid.NewGuid().ToString("N")[..14], customer.StripeCustomerId!, "open", 990, 0, "usd",
            DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow);
        var now = DateTimeOffset.UtcNow;
        string finalized = StripeEventPayloads.InvoiceFinalized(invoice, new EventEnvelope(Created: now.AddMinutes(-5)));
        string paid = StripeEventPayloads.InvoicePaid(invoice with { Status = "paid", AmountPaid = 990 }, new EventEnvelope(Created: now));

        foreach (var payload in newestFirst ? new[] { paid, finalized } : [finalized, paid])
        {
            using var response = await PostAsync(payload);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await using var db = billing.Database();
        var period = await db.Set<BillingPeriod>().SingleAsync(p => p.InvoiceId == invoice.Id);
        Assert.Equal(("paid", 990L), (period.Status, period.AmountPaid));
    }

    [Theory]
    [InlineData("""{"id":42,"type":"invoice.paid","created":1,"data":{"object":{}}}""")]
    [InlineData("""{"id":"evt_1","type":["x"],"created":1}""")]
    [InlineData("""["evt_1"]""")]
    [InlineData("""{"id":"evt_badcreated","type":"invoice.paid","created":1e300,"data":{"object":{"id":"in_1","customer":"cus_nobody","period_start":"x","amount_due":1e40}}}""")]
    [InlineData("""{"id":"evt_baddata","type":"customer.subscription.updated","created":1,"data":"not an object"}""")]
    public async Task A_signed_event_with_fields_of_the_wrong_type_is_a_client_error_not_a_500(string payload)
    {
        using var response = await PostAsync(payload);
        Assert.InRange((int)response.StatusCode, 200, 499);
    }

    [Fact]
    public async Task Meter_error_reports_are_recorded_for_admins()
    {
        var meter = billing.Stripe.AddMeter("svl_errors_probe");
        var now = DateTimeOffset.UtcNow;
        var report = new Serverless.Testing.Stripe.MeterErrorReport(
            "evt_" + Guid.NewGuid().ToString("N"), "v1.billing.meter.error_report_triggered", meter.Id, [], now.AddMinutes(-1), now, now);
        using (var response = await PostAsync(StripeEventPayloads.ThinEvent(report)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var admin = billing.CreateClient(billing.AdminKey);
        var errors = await (await admin.GetAsync("/v1/admin/billing/errors")).ReadJsonAsync();
        Assert.Contains(errors.GetProperty("data").EnumerateArray(), e => e.GetProperty("meter_id").GetString() == meter.Id);
    }
}
