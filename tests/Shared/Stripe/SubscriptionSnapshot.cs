namespace Serverless.Testing.Stripe;

/// <summary>The subscription carried by a customer.subscription.* webhook (one metered price).</summary>
public sealed record SubscriptionSnapshot(
    string Id,
    string CustomerId,
    string Status,
    string PriceId,
    DateTimeOffset CurrentPeriodStart,
    DateTimeOffset CurrentPeriodEnd)
{
    public string? MeterId { get; init; }

    public bool CancelAtPeriodEnd { get; init; }

    public DateTimeOffset? CanceledAt { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}
