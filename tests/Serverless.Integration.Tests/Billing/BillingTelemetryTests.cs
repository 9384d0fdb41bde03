using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Billing;
using Serverless.Core.Telemetry;
using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.Billing;

/// <summary>
/// What billing reports to OpenTelemetry: every Stripe call as a client span and in serverless.stripe.calls by outcome,
/// dead-lettered buckets in serverless.billing.dead_letters (as many as the ledger marked), and webhook events by type
/// and outcome.
/// </summary>
[Collection(BillingTestGroup.Name)]
public sealed class BillingTelemetryTests(BillingFixture billing)
{
    [Fact]
    public async Task A_refused_meter_event_is_a_failed_stripe_span_a_client_error_call_and_a_dead_letter()
    {
        using var metrics = new HostCounters(billing.Services.GetRequiredService<IMeterFactory>());
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ServerlessTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var meters = await billing.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        string input = meters.Single(m => m.Kind == MeterKind.InputTokens).EventName;
        var customer = await billing.CustomerAsync("telemetry-dead-co");
        var meter = billing.Stripe.Meters.Single(m => m.EventName == input);
        long deadBefore = await DeadLettersAsync();
        await billing.Stripe.CreateClient().V1.Billing.Meters.DeactivateAsync(meter.Id);
        try
        {
            await billing.SeedUsageAsync(customer.Id, [DateTimeOffset.UtcNow.AddMinutes(-30)]);
            await billing.Exporter.RunPassAsync(CancellationToken.None);
        }
        finally
        {
            await billing.Stripe.CreateClient().V1.Billing.Meters.ReactivateAsync(meter.Id);
        }

        long dead = await DeadLettersAsync() - deadBefore;
        Assert.True(dead >= 1);
        Assert.Equal(dead, metrics.Sum(ServerlessMetrics.Names.DeadLetters));
        Assert.True(metrics.Sum(ServerlessMetrics.Names.StripeCalls, (TelemetryAttributes.StripeOperation, "POST /v1/billing/meter_events"), (TelemetryAttributes.StripeOutcome, "client_error")) >= 1);
        Assert.True(metrics.Sum(ServerlessMetrics.Names.StripeCalls, (TelemetryAttributes.StripeOperation, "POST /v1/customers"), (TelemetryAttributes.StripeOutcome, "success")) >= 1);

        var refused = spans.Where(s => s.DisplayName == "stripe POST /v1/billing/meter_events" && s.GetTagItem(TelemetryAttributes.HttpStatusCode) is 400).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, s =>
        {
            Assert.Equal(ActivityKind.Client, s.Kind);
            Assert.Equal(ActivityStatusCode.Error, s.Status);
            Assert.Equal("400", s.GetTagItem(TelemetryAttributes.ErrorType));
        });
        Assert.DoesNotContain(spans, s => s.DisplayName.Contains(customer.StripeCustomerId!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Webhook_events_are_counted_by_type_and_outcome()
    {
        using var metrics = new HostCounters(billing.Services.GetRequiredService<IMeterFactory>());
        var customer = await billing.CustomerAsync("telemetry-webhook-co");
        var invoice = new InvoiceSnapshot("in_" + Guid.NewGuid().ToString("N")[..14], customer.StripeCustomerId!, "open", 100, 0, "usd", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow);
        string payload = StripeEventPayloads.InvoiceFinalized(invoice, new EventEnvelope("evt_" + Guid.NewGuid().ToString("N")));

        Assert.Equal(HttpStatusCode.OK, await PostAsync(payload, billing.WebhookSecret));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(payload, billing.WebhookSecret));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync(payload, StripeWebhook.NewSecret()));

        const string Type = "invoice.finalized";
        Assert.Equal(1, metrics.Sum(ServerlessMetrics.Names.WebhookEvents, (TelemetryAttributes.WebhookEventType, Type), (TelemetryAttributes.WebhookOutcome, "processed")));
        Assert.Equal(1, metrics.Sum(ServerlessMetrics.Names.WebhookEvents, (TelemetryAttributes.WebhookEventType, Type), (TelemetryAttributes.WebhookOutcome, "duplicate")));
        Assert.Equal(1, metrics.Sum(ServerlessMetrics.Names.WebhookEvents, (TelemetryAttributes.WebhookEventType, "unknown"), (TelemetryAttributes.WebhookOutcome, "rejected")));
    }

    private async Task<HttpStatusCode> PostAsync(string payload, string secret)
    {
        using var client = new HttpClient();
        using var request = StripeWebhook.CreateRequest(new Uri(billing.BaseAddress, "/stripe/webhook"), payload, secret, null);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<long> DeadLettersAsync()
    {
        await using var db = billing.Database();
        return await db.Set<ExportBucket>().LongCountAsync(b => b.Status == ExportStatus.DeadLetter);
    }

    /// <summary>Every counter measurement of one host's meter, with its attributes.</summary>
    private sealed class HostCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, long Value, Dictionary<string, object?> Tags)> _measurements = new();

        public HostCounters(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Meter.Name == ServerlessTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var tag in tags)
                {
                    copy[tag.Key] = tag.Value;
                }

                _measurements.Enqueue((instrument.Name, value, copy));
            });
            _listener.Start();
        }

        public long Sum(string name, params (string Key, string Value)[] tags) =>
            _measurements.Where(m => m.Name == name && tags.All(t => (string?)m.Tags.GetValueOrDefault(t.Key) == t.Value)).Sum(m => m.Value);

        public void Dispose() => _listener.Dispose();
    }
}
