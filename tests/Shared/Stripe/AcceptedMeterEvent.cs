namespace Serverless.Testing.Stripe;

/// <summary>A meter event the fake accepted (and, if <see cref="CancelledAt"/> is set, later cancelled by an adjustment).</summary>
/// <param name="Value">The whole-number value, or 0 for a count meter whose event carried none.</param>
/// <param name="Received">When the fake accepted it (the start of its 24 h dedup and cancel windows).</param>
public sealed record AcceptedMeterEvent(
    string Identifier,
    string EventName,
    string MeterId,
    string CustomerId,
    long Value,
    IReadOnlyDictionary<string, string> Payload,
    DateTimeOffset Timestamp,
    DateTimeOffset Received,
    MeterEventSource Source,
    DateTimeOffset? CancelledAt)
{
    public bool Cancelled => CancelledAt is not null;
}
