namespace Serverless.Testing.Stripe;

/// <summary>
/// One stream event that failed Stripe's asynchronous validation. <see cref="Code"/> uses Stripe's meter error
/// codes (meter_event_customer_not_found, meter_event_no_customer_defined, meter_event_invalid_value,
/// meter_event_value_not_found, archived_meter, timestamp_in_future, timestamp_too_far_in_past, no_meter).
/// </summary>
public sealed record MeterEventError(string Code, string Message, string Identifier, string EventName);
