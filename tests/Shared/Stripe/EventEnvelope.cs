namespace Serverless.Testing.Stripe;

/// <summary>The event fields around a snapshot webhook's object; nulls take a new id, now, and Stripe.net's pinned API version.</summary>
public sealed record EventEnvelope(string? EventId = null, DateTimeOffset? Created = null, string? ApiVersion = null);
