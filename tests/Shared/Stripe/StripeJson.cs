using System.Globalization;
using System.Text.Json.Nodes;

namespace Serverless.Testing.Stripe;

/// <summary>Stripe's object shapes: v1 times are Unix seconds, v2 times RFC 3339 strings in UTC.</summary>
internal static class StripeJson
{
    public static long Unix(DateTimeOffset time) => time.ToUnixTimeSeconds();

    public static string Rfc3339(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static JsonObject Map(IReadOnlyDictionary<string, string> values)
    {
        var map = new JsonObject();
        foreach (var (key, value) in values)
        {
            map[key] = value;
        }

        return map;
    }

    public static JsonObject List(string url, IEnumerable<JsonNode> items, bool hasMore) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(items.ToArray()),
        ["has_more"] = hasMore,
        ["url"] = url,
    };

    public static JsonObject Customer(FakeStripeCustomer customer) => new()
    {
        ["id"] = customer.Id,
        ["object"] = "customer",
        ["address"] = null,
        ["balance"] = 0,
        ["created"] = Unix(customer.Created),
        ["currency"] = null,
        ["default_source"] = null,
        ["delinquent"] = false,
        ["description"] = customer.Description,
        ["email"] = customer.Email,
        ["invoice_prefix"] = customer.Id[4..Math.Min(customer.Id.Length, 12)].ToUpperInvariant(),
        ["invoice_settings"] = new JsonObject
        {
            ["custom_fields"] = null,
            ["default_payment_method"] = null,
            ["footer"] = null,
            ["rendering_options"] = null,
        },
        ["livemode"] = false,
        ["metadata"] = Map(customer.Metadata),
        ["name"] = customer.Name,
        ["next_invoice_sequence"] = 1,
        ["phone"] = null,
        ["preferred_locales"] = new JsonArray(),
        ["shipping"] = null,
        ["tax_exempt"] = "none",
        ["test_clock"] = null,
    };

    public static JsonObject Meter(FakeStripeMeter meter) => new()
    {
        ["id"] = meter.Id,
        ["object"] = "billing.meter",
        ["created"] = Unix(meter.Created),
        ["customer_mapping"] = new JsonObject { ["event_payload_key"] = meter.CustomerPayloadKey, ["type"] = "by_id" },
        ["default_aggregation"] = new JsonObject { ["formula"] = meter.Formula },
        ["display_name"] = meter.DisplayName,
        ["event_name"] = meter.EventName,
        ["event_time_window"] = null,
        ["livemode"] = false,
        ["status"] = meter.Active ? "active" : "inactive",
        ["status_transitions"] = new JsonObject { ["deactivated_at"] = meter.DeactivatedAt is { } at ? Unix(at) : null },
        ["updated"] = Unix(meter.Updated),
        ["value_settings"] = new JsonObject { ["event_payload_key"] = meter.ValuePayloadKey },
    };

    public static JsonObject MeterEvent(AcceptedMeterEvent meterEvent) => new()
    {
        ["object"] = "billing.meter_event",
        ["created"] = Unix(meterEvent.Received),
        ["event_name"] = meterEvent.EventName,
        ["identifier"] = meterEvent.Identifier,
        ["livemode"] = false,
        ["payload"] = Map(meterEvent.Payload),
        ["timestamp"] = Unix(meterEvent.Timestamp),
    };

    public static JsonObject Adjustment(string eventName, string identifier) => new()
    {
        ["object"] = "billing.meter_event_adjustment",
        ["cancel"] = new JsonObject { ["identifier"] = identifier },
        ["event_name"] = eventName,
        ["livemode"] = false,
        ["status"] = "pending",
        ["type"] = "cancel",
    };

    public static JsonObject Summary(string id, string meterId, decimal value, DateTimeOffset start, DateTimeOffset end) => new()
    {
        ["id"] = id,
        ["object"] = "billing.meter_event_summary",
        ["aggregated_value"] = value,
        ["end_time"] = Unix(end),
        ["livemode"] = false,
        ["meter"] = meterId,
        ["start_time"] = Unix(start),
    };

    public static JsonObject Session(string id, string token, DateTimeOffset created, DateTimeOffset expiresAt) => new()
    {
        ["id"] = id,
        ["object"] = "v2.billing.meter_event_session",
        ["authentication_token"] = token,
        ["created"] = Rfc3339(created),
        ["expires_at"] = Rfc3339(expiresAt),
        ["livemode"] = false,
    };
}
