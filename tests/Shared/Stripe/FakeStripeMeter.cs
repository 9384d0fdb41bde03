namespace Serverless.Testing.Stripe;

/// <summary>A billing meter the fake holds.</summary>
/// <param name="Formula">default_aggregation[formula]: sum, count or last.</param>
/// <param name="CustomerPayloadKey">customer_mapping[event_payload_key] (Stripe's default stripe_customer_id).</param>
/// <param name="ValuePayloadKey">value_settings[event_payload_key] (Stripe's default value).</param>
public sealed record FakeStripeMeter(
    string Id,
    string DisplayName,
    string EventName,
    string Formula,
    string CustomerPayloadKey,
    string ValuePayloadKey,
    bool Active,
    DateTimeOffset Created,
    DateTimeOffset Updated,
    DateTimeOffset? DeactivatedAt);
