using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Stripe;

namespace Serverless.Testing.Stripe;

/// <summary>
/// Webhook bodies as Stripe sends them. Snapshot events (customer.subscription.*, invoice.*) carry
/// <c>api_version</c>, which <c>EventUtility.ConstructEvent</c> checks against Stripe.net's pinned version (by its
/// major release name only) unless told not to; the default here is the pinned version. Meter error reports are v2
/// thin events (<c>"object":"v2.core.event"</c>) that <c>ConstructEvent</c> refuses: parse them with
/// <c>StripeClient.ParseEventNotification</c> and fetch the full event from GET /v2/core/events/{id}.
/// </summary>
public static class StripeEventPayloads
{
    public const string SubscriptionCreatedType = "customer.subscription.created";
    public const string SubscriptionUpdatedType = "customer.subscription.updated";
    public const string SubscriptionDeletedType = "customer.subscription.deleted";
    public const string InvoiceCreatedType = "invoice.created";
    public const string InvoiceFinalizedType = "invoice.finalized";
    public const string InvoicePaidType = "invoice.paid";
    public const string InvoicePaymentFailedType = "invoice.payment_failed";
    public const string MeterErrorReportTriggeredType = "v1.billing.meter.error_report_triggered";
    public const string MeterNoMeterFoundType = "v1.billing.meter.no_meter_found";

    public static string NewEventId() => NewId("evt_");

    public static string SubscriptionCreated(SubscriptionSnapshot subscription, EventEnvelope? envelope = null) =>
        Snapshot(SubscriptionCreatedType, Subscription(subscription), null, envelope);

    /// <param name="previousAttributes">The fields that changed, with their old values (Stripe's data.previous_attributes).</param>
    public static string SubscriptionUpdated(SubscriptionSnapshot subscription, JsonObject? previousAttributes = null, EventEnvelope? envelope = null) =>
        Snapshot(SubscriptionUpdatedType, Subscription(subscription), previousAttributes ?? new JsonObject(), envelope);

    public static string SubscriptionDeleted(SubscriptionSnapshot subscription, EventEnvelope? envelope = null) =>
        Snapshot(SubscriptionDeletedType, Subscription(subscription), null, envelope);

    public static string InvoiceCreated(InvoiceSnapshot invoice, EventEnvelope? envelope = null) =>
        Snapshot(InvoiceCreatedType, Invoice(invoice), null, envelope);

    public static string InvoiceFinalized(InvoiceSnapshot invoice, EventEnvelope? envelope = null) =>
        Snapshot(InvoiceFinalizedType, Invoice(invoice), null, envelope);

    public static string InvoicePaid(InvoiceSnapshot invoice, EventEnvelope? envelope = null) =>
        Snapshot(InvoicePaidType, Invoice(invoice), null, envelope);

    public static string InvoicePaymentFailed(InvoiceSnapshot invoice, EventEnvelope? envelope = null) =>
        Snapshot(InvoicePaymentFailedType, Invoice(invoice), null, envelope);

    /// <summary>The thin event Stripe posts for a meter error report (no data; the full event is fetched by id).</summary>
    public static string MeterErrorReportTriggered(string meterId, string? eventId = null, DateTimeOffset? created = null) =>
        ThinEvent(MeterErrorReportTriggeredType, eventId ?? NewEventId(), created ?? DateTimeOffset.UtcNow, meterId).ToJsonString();

    /// <summary>The thin event for <paramref name="report"/>, as the fake sends it.</summary>
    public static string ThinEvent(MeterErrorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return ThinEvent(report.EventType, report.EventId, report.Created, report.MeterId).ToJsonString();
    }

    /// <summary>The full v2 event for <paramref name="report"/>, as GET /v2/core/events/{id} returns it.</summary>
    public static string FullEvent(MeterErrorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var errorTypes = new JsonArray();
        foreach (var group in report.Errors.GroupBy(e => e.Code))
        {
            var samples = new JsonArray();
            foreach (var error in group.Take(5))
            {
                samples.Add(new JsonObject
                {
                    ["error_message"] = error.Message,
                    ["request"] = new JsonObject { ["identifier"] = error.Identifier },
                });
            }

            errorTypes.Add(new JsonObject { ["code"] = group.Key, ["error_count"] = group.Count(), ["sample_errors"] = samples });
        }

        var full = ThinEvent(report.EventType, report.EventId, report.Created, report.MeterId);
        full["data"] = new JsonObject
        {
            ["developer_message_summary"] = report.MeterId is null
                ? "There is no meter matching the event name of some meter events."
                : $"There were {report.Errors.Count} invalid meter events for meter {report.MeterId}.",
            ["reason"] = new JsonObject { ["error_count"] = report.Errors.Count, ["error_types"] = errorTypes },
            ["validation_end"] = StripeJson.Rfc3339(report.ValidationEnd),
            ["validation_start"] = StripeJson.Rfc3339(report.ValidationStart),
        };
        return full.ToJsonString();
    }

    private static JsonObject ThinEvent(string type, string eventId, DateTimeOffset created, string? meterId)
    {
        var thin = new JsonObject
        {
            ["id"] = eventId,
            ["object"] = "v2.core.event",
            ["type"] = type,
            ["livemode"] = false,
            ["created"] = StripeJson.Rfc3339(created),
        };
        if (meterId is not null)
        {
            thin["related_object"] = new JsonObject
            {
                ["id"] = meterId,
                ["type"] = "billing.meter",
                ["url"] = "/v1/billing/meters/" + meterId,
            };
        }

        return thin;
    }

    private static string Snapshot(string type, JsonObject dataObject, JsonObject? previousAttributes, EventEnvelope? envelope)
    {
        envelope ??= new EventEnvelope();
        var data = new JsonObject { ["object"] = dataObject };
        if (previousAttributes is not null)
        {
            data["previous_attributes"] = previousAttributes;
        }

        return new JsonObject
        {
            ["id"] = envelope.EventId ?? NewEventId(),
            ["object"] = "event",
            ["api_version"] = envelope.ApiVersion ?? StripeConfiguration.ApiVersion,
            ["created"] = StripeJson.Unix(envelope.Created ?? DateTimeOffset.UtcNow),
            ["data"] = data,
            ["livemode"] = false,
            ["pending_webhooks"] = 1,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["type"] = type,
        }.ToJsonString();
    }

    private static JsonObject Subscription(SubscriptionSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var item = new JsonObject
        {
            ["id"] = "si_" + s.Id[(s.Id.IndexOf('_', StringComparison.Ordinal) + 1)..],
            ["object"] = "subscription_item",
            ["created"] = StripeJson.Unix(s.CurrentPeriodStart),
            ["current_period_end"] = StripeJson.Unix(s.CurrentPeriodEnd),
            ["current_period_start"] = StripeJson.Unix(s.CurrentPeriodStart),
            ["metadata"] = new JsonObject(),
            ["price"] = new JsonObject
            {
                ["id"] = s.PriceId,
                ["object"] = "price",
                ["active"] = true,
                ["billing_scheme"] = "per_unit",
                ["currency"] = "usd",
                ["livemode"] = false,
                ["product"] = "prod_" + s.PriceId[(s.PriceId.IndexOf('_', StringComparison.Ordinal) + 1)..],
                ["recurring"] = new JsonObject
                {
                    ["interval"] = "month",
                    ["interval_count"] = 1,
                    ["meter"] = s.MeterId,
                    ["usage_type"] = "metered",
                },
                ["type"] = "recurring",
            },
            ["subscription"] = s.Id,
        };
        var canceled = s.Status == "canceled";
        return new JsonObject
        {
            ["id"] = s.Id,
            ["object"] = "subscription",
            ["billing_cycle_anchor"] = StripeJson.Unix(s.CurrentPeriodStart),
            ["cancel_at"] = s.CancelAtPeriodEnd ? StripeJson.Unix(s.CurrentPeriodEnd) : null,
            ["cancel_at_period_end"] = s.CancelAtPeriodEnd,
            ["canceled_at"] = s.CanceledAt is { } at ? StripeJson.Unix(at) : null,
            ["collection_method"] = "charge_automatically",
            ["created"] = StripeJson.Unix(s.CurrentPeriodStart),
            ["currency"] = "usd",
            ["customer"] = s.CustomerId,
            ["ended_at"] = canceled ? StripeJson.Unix(s.CanceledAt ?? s.CurrentPeriodEnd) : null,
            ["items"] = StripeJson.List("/v1/subscription_items?subscription=" + s.Id, [item], hasMore: false),
            ["latest_invoice"] = null,
            ["livemode"] = false,
            ["metadata"] = StripeJson.Map(s.Metadata),
            ["start_date"] = StripeJson.Unix(s.CurrentPeriodStart),
            ["status"] = s.Status,
        };
    }

    private static JsonObject Invoice(InvoiceSnapshot i)
    {
        ArgumentNullException.ThrowIfNull(i);
        return new JsonObject
        {
            ["id"] = i.Id,
            ["object"] = "invoice",
            ["amount_due"] = i.AmountDue,
            ["amount_paid"] = i.AmountPaid,
            ["amount_remaining"] = i.AmountDue - i.AmountPaid,
            ["attempt_count"] = i.AttemptCount,
            ["attempted"] = i.AttemptCount > 0,
            ["billing_reason"] = i.BillingReason,
            ["collection_method"] = "charge_automatically",
            ["created"] = StripeJson.Unix(i.PeriodEnd),
            ["currency"] = i.Currency,
            ["customer"] = i.CustomerId,
            ["lines"] = StripeJson.List($"/v1/invoices/{i.Id}/lines", [], hasMore: false),
            ["livemode"] = false,
            ["metadata"] = new JsonObject(),
            ["next_payment_attempt"] = i.NextPaymentAttempt is { } next ? StripeJson.Unix(next) : null,
            ["parent"] = i.SubscriptionId is null ? null : new JsonObject
            {
                ["quote_details"] = null,
                ["subscription_details"] = new JsonObject { ["metadata"] = new JsonObject(), ["subscription"] = i.SubscriptionId },
                ["type"] = "subscription_details",
            },
            ["period_end"] = StripeJson.Unix(i.PeriodEnd),
            ["period_start"] = StripeJson.Unix(i.PeriodStart),
            ["status"] = i.Status,
            ["subtotal"] = i.AmountDue,
            ["total"] = i.AmountDue,
        };
    }

    internal static string NewId(string prefix) =>
        prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
