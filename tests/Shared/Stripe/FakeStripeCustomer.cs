namespace Serverless.Testing.Stripe;

/// <summary>A customer the fake holds (created through the API or <see cref="FakeStripeServer.AddCustomer"/>).</summary>
public sealed record FakeStripeCustomer(
    string Id,
    string? Name,
    string? Email,
    string? Description,
    IReadOnlyDictionary<string, string> Metadata,
    DateTimeOffset Created);
