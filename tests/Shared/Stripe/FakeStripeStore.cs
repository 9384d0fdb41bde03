using System.Globalization;

namespace Serverless.Testing.Stripe;

/// <summary>Everything the fake Stripe account holds, and the rules that need it. Callers hold <see cref="Gate"/>.</summary>
internal sealed class FakeStripeStore(FakeStripeOptions options)
{
    private readonly Dictionary<string, int> _eventIndex = new(StringComparer.Ordinal);
    private readonly HashSet<(string Customer, string EventName)> _slots = [];
    private readonly Dictionary<(string Customer, string EventName), int> _inFlight = [];

    public Lock Gate { get; } = new();

    public FakeStripeOptions Options => options;

    public Dictionary<string, FakeStripeCustomer> Customers { get; } = new(StringComparer.Ordinal);

    /// <summary>In creation order.</summary>
    public List<FakeStripeMeter> Meters { get; } = [];

    /// <summary>In the order accepted; a cancelled event is replaced by its cancelled copy.</summary>
    public List<AcceptedMeterEvent> Events { get; } = [];

    public Dictionary<string, DateTimeOffset> Sessions { get; } = new(StringComparer.Ordinal);

    /// <summary>Per meter event session token: the secret key that opened the session.</summary>
    public Dictionary<string, string> SessionKeys { get; } = new(StringComparer.Ordinal);

    public Dictionary<(string Principal, string Key), IdempotencyRecord> Idempotency { get; } = [];

    public List<MeterErrorReport> ErrorReports { get; } = [];

    public int DuplicatesRejected { get; set; }

    /// <summary>Per customer and meter: the most v1 meter event calls ever in flight at once, refused ones included.</summary>
    public Dictionary<(string Customer, string EventName), int> PeakInFlight { get; } = [];

    public FakeStripeMeter? ActiveMeter(string eventName) => Meters.Find(m => m.Active && m.EventName == eventName);

    public FakeStripeMeter? Meter(string id) => Meters.Find(m => m.Id == id);

    public void ReplaceMeter(FakeStripeMeter meter) => Meters[Meters.FindIndex(m => m.Id == meter.Id)] = meter;

    public AcceptedMeterEvent? FindEvent(string identifier) =>
        _eventIndex.TryGetValue(identifier, out var index) ? Events[index] : null;

    public void ReplaceEvent(AcceptedMeterEvent meterEvent) => Events[_eventIndex[meterEvent.Identifier]] = meterEvent;

    /// <summary>Whether <paramref name="identifier"/> was accepted within the rolling dedup window.</summary>
    public bool IsDuplicate(string identifier, DateTimeOffset now) =>
        FindEvent(identifier) is { } existing && now - existing.Received < options.IdentifierWindow;

    public void Accept(AcceptedMeterEvent meterEvent)
    {
        Events.Add(meterEvent);
        _eventIndex[meterEvent.Identifier] = Events.Count - 1;
    }

    /// <summary>Stripe's checks of one meter event, shared by the v1 endpoint (answered inline) and the v2 stream (reported later).</summary>
    public MeterEventCheck Check(string eventName, IReadOnlyDictionary<string, string> payload, DateTimeOffset timestamp, DateTimeOffset now)
    {
        var meter = ActiveMeter(eventName);
        if (meter is null)
        {
            return Meters.Exists(m => m.EventName == eventName)
                ? MeterEventCheck.Fail("archived_meter", $"The meter for event_name `{eventName}` is inactive.", "event_name", Meters.Find(m => m.EventName == eventName)!.Id)
                : MeterEventCheck.Fail("no_meter", $"No active meter was found for event_name `{eventName}`.", "event_name", null);
        }

        if (!payload.TryGetValue(meter.CustomerPayloadKey, out var customerId) || customerId.Length == 0)
        {
            return MeterEventCheck.Fail("meter_event_no_customer_defined",
                $"The event payload is missing the customer mapping key `{meter.CustomerPayloadKey}`.", $"payload[{meter.CustomerPayloadKey}]", meter.Id);
        }

        if (!Customers.ContainsKey(customerId))
        {
            return MeterEventCheck.Fail("meter_event_customer_not_found", $"No such customer: '{customerId}'", $"payload[{meter.CustomerPayloadKey}]", meter.Id);
        }

        long value = 0;
        if (payload.TryGetValue(meter.ValuePayloadKey, out var text))
        {
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
            {
                return MeterEventCheck.Fail("meter_event_invalid_value",
                    $"Invalid value for payload[{meter.ValuePayloadKey}]: `{text}` must be a whole number.", $"payload[{meter.ValuePayloadKey}]", meter.Id);
            }
        }
        else if (meter.Formula != "count")
        {
            return MeterEventCheck.Fail("meter_event_value_not_found",
                $"The event payload is missing the value key `{meter.ValuePayloadKey}`.", $"payload[{meter.ValuePayloadKey}]", meter.Id);
        }

        if (timestamp < now - options.MaxTimestampAge)
        {
            return MeterEventCheck.Fail("timestamp_too_far_in_past",
                $"Timestamp must be within the past {options.MaxTimestampAge.TotalDays:0} days.", "timestamp", meter.Id);
        }

        if (timestamp > now + options.MaxTimestampLead)
        {
            return MeterEventCheck.Fail("timestamp_in_future",
                $"Timestamp cannot be more than {options.MaxTimestampLead.TotalMinutes:0} minutes in the future.", "timestamp", meter.Id);
        }

        return new MeterEventCheck(meter, customerId, value, null, null, null);
    }

    /// <summary>The meter's aggregation of a customer's live events with timestamps in [start, end).</summary>
    public decimal Aggregate(FakeStripeMeter meter, string customerId, DateTimeOffset start, DateTimeOffset end)
    {
        var events = Events.Where(e => !e.Cancelled && e.MeterId == meter.Id && e.CustomerId == customerId
            && e.Timestamp >= start && e.Timestamp < end);
        return meter.Formula switch
        {
            "count" => events.Count(),
            "last" => events.OrderBy(e => e.Timestamp).ThenBy(e => e.Received).LastOrDefault()?.Value ?? 0,
            _ => events.Sum(e => (decimal)e.Value),
        };
    }

    /// <summary>Stripe allows one meter event call at a time per customer and meter.</summary>
    public bool TryTakeSlot((string Customer, string EventName) slot) => _slots.Add(slot);

    public void ReleaseSlot((string Customer, string EventName) slot) => _slots.Remove(slot);

    /// <summary>A meter event call for the pair arrived (whether or not it gets the slot).</summary>
    public void Arrive((string Customer, string EventName) slot)
    {
        int count = _inFlight.GetValueOrDefault(slot) + 1;
        _inFlight[slot] = count;
        PeakInFlight[slot] = Math.Max(PeakInFlight.GetValueOrDefault(slot), count);
    }

    /// <summary>A meter event call for the pair was answered (or refused, or abandoned).</summary>
    public void Depart((string Customer, string EventName) slot)
    {
        if (--_inFlight[slot] == 0)
        {
            _inFlight.Remove(slot);
        }
    }
}
