namespace Serverless.Testing.Stripe;

/// <summary>One webhook the fake posted to <see cref="FakeStripeOptions.WebhookEndpoint"/>: the status, or the error if it failed.</summary>
public sealed record WebhookDelivery(string EventId, string EventType, int? StatusCode, string? Error);
