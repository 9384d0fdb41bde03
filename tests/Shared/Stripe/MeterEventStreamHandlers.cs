using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Testing.Stripe;

/// <summary>
/// The v2 high-throughput path: POST /v2/billing/meter_event_session (secret key, API host) issues a 15-minute token;
/// POST /v2/billing/meter_event_stream (that token, meter events host) takes up to 100 events. The request itself is
/// checked for shape only; each event is validated afterwards, and failures become meter error reports rather than
/// an error answer. A repeated identifier within the dedup window is dropped silently.
/// </summary>
internal static class MeterEventStreamHandlers
{
    private static readonly HashSet<string> EventFields = ["event_name", "identifier", "payload", "timestamp"];

    public static FakeStripeResponse CreateSession(FakeStripeStore store, FakeStripeRequest request)
    {
        var token = StripeEventPayloads.NewId("mes_tok_");
        var expiresAt = request.Now + store.Options.MeterEventSessionLifetime;
        store.Sessions[token] = expiresAt;
        store.SessionKeys[token] = request.ApiKey;
        return FakeStripeResponse.Ok(StripeJson.Session(StripeEventPayloads.NewId("mes_"), token, request.Now, expiresAt));
    }

    public static FakeStripeResponse Stream(FakeStripeStore store, FakeStripeRequest request)
    {
        if (request.Json is not JsonObject body || body["events"] is not JsonArray events)
        {
            return Invalid("Missing required field: events.");
        }

        if (events.Count == 0)
        {
            return Invalid("events must contain at least 1 event.");
        }

        if (events.Count > store.Options.MaxStreamEvents)
        {
            return Invalid($"events must contain at most {store.Options.MaxStreamEvents} events; got {events.Count}.");
        }

        var parsed = new List<StreamEvent>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var (streamEvent, error) = Parse(events[i], i, request.Now);
            if (error is not null)
            {
                return Invalid(error);
            }

            parsed.Add(streamEvent!);
        }

        var errors = new List<(string? MeterId, MeterEventError Error)>();
        foreach (var e in parsed)
        {
            if (store.IsDuplicate(e.Identifier, request.Now))
            {
                store.DuplicatesRejected++;
                continue;
            }

            var check = store.Check(e.EventName, e.Payload, e.Timestamp, request.Now);
            if (!check.Succeeded)
            {
                errors.Add((check.ReportMeterId, new MeterEventError(check.ErrorCode!, check.ErrorMessage!, e.Identifier, e.EventName)));
                continue;
            }

            store.Accept(new AcceptedMeterEvent(e.Identifier, e.EventName, check.Meter!.Id, check.CustomerId!, check.Value,
                e.Payload, e.Timestamp, request.Now, MeterEventSource.V2Stream, CancelledAt: null));
        }

        foreach (var group in errors.GroupBy(e => e.MeterId))
        {
            store.ErrorReports.Add(new MeterErrorReport(
                StripeEventPayloads.NewEventId(),
                group.Key is null ? StripeEventPayloads.MeterNoMeterFoundType : StripeEventPayloads.MeterErrorReportTriggeredType,
                group.Key,
                group.Select(e => e.Error).ToList(),
                request.Now, request.Now, request.Now));
        }

        return FakeStripeResponse.Ok(new JsonObject());
    }

    /// <summary>GET /v2/core/events/{id}: the full event behind a meter error report's thin notification.</summary>
    public static FakeStripeResponse RetrieveEvent(FakeStripeStore store, FakeStripeRequest request)
    {
        var id = request.Segments[3];
        var report = store.ErrorReports.Find(r => r.EventId == id);
        return report is null
            ? StripeErrors.V2(404, "not_found", $"No such event: '{id}'", "resource_missing")
            : new FakeStripeResponse(200, StripeEventPayloads.FullEvent(report), new Dictionary<string, string>());
    }

    private static FakeStripeResponse Invalid(string message) => StripeErrors.V2(400, StripeErrors.InvalidRequest, message, "invalid_request");

    private static (StreamEvent? Event, string? Error) Parse(JsonNode? node, int index, DateTimeOffset now)
    {
        if (node is not JsonObject item)
        {
            return (null, $"events[{index}] must be an object.");
        }

        foreach (var (name, _) in item)
        {
            if (!EventFields.Contains(name))
            {
                return (null, $"Unknown field: events[{index}].{name}.");
            }
        }

        if (String(item["event_name"]) is not { Length: > 0 } eventName)
        {
            return (null, $"Missing required field: events[{index}].event_name.");
        }

        if (item["payload"] is not JsonObject payloadNode)
        {
            return (null, $"Missing required field: events[{index}].payload.");
        }

        var payload = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in payloadNode)
        {
            if (String(value) is not { } text)
            {
                return (null, $"events[{index}].payload.{key} must be a string.");
            }

            payload[key] = text;
        }

        var timestamp = now;
        if (item["timestamp"] is { } timestampNode)
        {
            if (String(timestampNode) is not { } text
                || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out timestamp))
            {
                return (null, $"events[{index}].timestamp must be an RFC 3339 timestamp.");
            }
        }

        var identifier = String(item["identifier"]) is { Length: > 0 } given ? given : StripeEventPayloads.NewId("");
        return (new StreamEvent(eventName, identifier, payload, timestamp), null);
    }

    private static string? String(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private sealed record StreamEvent(string EventName, string Identifier, Dictionary<string, string> Payload, DateTimeOffset Timestamp);
}
