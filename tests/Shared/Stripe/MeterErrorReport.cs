namespace Serverless.Testing.Stripe;

/// <summary>
/// What Stripe raises when stream events fail validation: one report per meter per stream request, as the thin
/// event <see cref="EventType"/> (<c>v1.billing.meter.error_report_triggered</c>, or <c>v1.billing.meter.no_meter_found</c>
/// for events naming no meter, whose <see cref="MeterId"/> is null). The full event is served at GET /v2/core/events/{id}.
/// </summary>
public sealed record MeterErrorReport(
    string EventId,
    string EventType,
    string? MeterId,
    IReadOnlyList<MeterEventError> Errors,
    DateTimeOffset ValidationStart,
    DateTimeOffset ValidationEnd,
    DateTimeOffset Created);
