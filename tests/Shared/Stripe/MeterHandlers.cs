using System.Globalization;
using System.Text.Json.Nodes;

namespace Serverless.Testing.Stripe;

/// <summary>Billing meters: create, list, retrieve, deactivate, reactivate.</summary>
internal static class MeterHandlers
{
    private static readonly HashSet<string> CreateParameters =
        ["display_name", "event_name", "default_aggregation", "customer_mapping", "value_settings", "event_time_window", "expand"];

    private static readonly HashSet<string> ListParameters = ["limit", "starting_after", "ending_before", "status", "expand"];

    private static readonly HashSet<string> Formulas = ["sum", "count", "last"];

    public static FakeStripeResponse Create(FakeStripeStore store, FakeStripeRequest request)
    {
        var form = request.Parameters;
        if (form.FirstUnknown(CreateParameters) is { } unknown)
        {
            return StripeErrors.Unknown(unknown);
        }

        var displayName = form["display_name"];
        var eventName = form["event_name"];
        var formula = form["default_aggregation[formula]"];
        if (string.IsNullOrEmpty(displayName))
        {
            return StripeErrors.Missing("display_name");
        }

        if (string.IsNullOrEmpty(eventName))
        {
            return StripeErrors.Missing("event_name");
        }

        if (string.IsNullOrEmpty(formula))
        {
            return StripeErrors.Missing("default_aggregation[formula]");
        }

        if (!Formulas.Contains(formula))
        {
            return StripeErrors.Invalid(
                $"Invalid default_aggregation[formula]: must be one of sum, count, or last", "default_aggregation[formula]", "parameter_invalid_string");
        }

        var mapping = form.Hash("customer_mapping");
        if (mapping is not null)
        {
            if (!mapping.TryGetValue("type", out var type) || type != "by_id")
            {
                return StripeErrors.Invalid("Invalid customer_mapping[type]: must be one of by_id", "customer_mapping[type]");
            }

            if (!mapping.TryGetValue("event_payload_key", out var key) || key.Length == 0)
            {
                return StripeErrors.Missing("customer_mapping[event_payload_key]");
            }
        }

        if (store.ActiveMeter(eventName) is not null)
        {
            return StripeErrors.Invalid(
                $"A meter with event_name `{eventName}` already exists. Meter event names must be unique among active meters.", "event_name");
        }

        var meter = new FakeStripeMeter(
            StripeEventPayloads.NewId("mtr_"), displayName, eventName, formula,
            mapping?["event_payload_key"] ?? "stripe_customer_id",
            form["value_settings[event_payload_key]"] ?? "value",
            Active: true, request.Now, request.Now, DeactivatedAt: null);
        store.Meters.Add(meter);
        return FakeStripeResponse.Ok(StripeJson.Meter(meter));
    }

    public static FakeStripeResponse List(FakeStripeStore store, FakeStripeRequest request)
    {
        var query = request.Parameters;
        if (query.FirstUnknown(ListParameters) is { } unknown)
        {
            return StripeErrors.Unknown(unknown);
        }

        // Stripe lists newest first.
        IEnumerable<FakeStripeMeter> meters = Enumerable.Reverse(store.Meters);
        if (query["status"] is { } status)
        {
            if (status is not ("active" or "inactive"))
            {
                return StripeErrors.Invalid("Invalid status: must be one of active or inactive", "status");
            }

            meters = meters.Where(m => m.Active == (status == "active"));
        }

        return Page(meters.ToList(), m => m.Id, m => StripeJson.Meter(m), "/v1/billing/meters", query);
    }

    public static FakeStripeResponse Retrieve(FakeStripeStore store, FakeStripeRequest request) =>
        store.Meter(request.Segments[3]) is { } meter
            ? FakeStripeResponse.Ok(StripeJson.Meter(meter))
            : StripeErrors.NoSuch("billing meter", request.Segments[3]);

    public static FakeStripeResponse Deactivate(FakeStripeStore store, FakeStripeRequest request)
    {
        if (store.Meter(request.Segments[3]) is not { } meter)
        {
            return StripeErrors.NoSuch("billing meter", request.Segments[3]);
        }

        meter = meter with { Active = false, Updated = request.Now, DeactivatedAt = request.Now };
        store.ReplaceMeter(meter);
        return FakeStripeResponse.Ok(StripeJson.Meter(meter));
    }

    public static FakeStripeResponse Reactivate(FakeStripeStore store, FakeStripeRequest request)
    {
        if (store.Meter(request.Segments[3]) is not { } meter)
        {
            return StripeErrors.NoSuch("billing meter", request.Segments[3]);
        }

        if (!meter.Active && store.ActiveMeter(meter.EventName) is not null)
        {
            return StripeErrors.Invalid(
                $"A meter with event_name `{meter.EventName}` already exists. Meter event names must be unique among active meters.", "event_name");
        }

        meter = meter with { Active = true, Updated = request.Now, DeactivatedAt = null };
        store.ReplaceMeter(meter);
        return FakeStripeResponse.Ok(StripeJson.Meter(meter));
    }

    /// <summary>Stripe's cursor pagination over an already ordered list: limit (1-100, default 10), starting_after, ending_before.</summary>
    public static FakeStripeResponse Page<T>(List<T> items, Func<T, string> id, Func<T, JsonNode> json, string url, StripeForm query)
    {
        var limit = 10;
        if (query["limit"] is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 100))
        {
            return StripeErrors.Invalid("Invalid limit: must be between 1 and 100", "limit", "parameter_invalid_integer");
        }

        var from = 0;
        var to = items.Count;
        if (query["starting_after"] is { } after)
        {
            var index = items.FindIndex(item => id(item) == after);
            if (index < 0)
            {
                return StripeErrors.NoSuch("object", after, "starting_after");
            }

            from = index + 1;
        }
        else if (query["ending_before"] is { } before)
        {
            var index = items.FindIndex(item => id(item) == before);
            if (index < 0)
            {
                return StripeErrors.NoSuch("object", before, "ending_before");
            }

            to = index;
            from = Math.Max(0, to - limit);
        }

        var page = items.Skip(from).Take(Math.Min(limit, to - from)).ToList();
        var hasMore = query["ending_before"] is null ? from + page.Count < to : from > 0;
        return FakeStripeResponse.Ok(StripeJson.List(url, page.Select(json), hasMore));
    }
}
