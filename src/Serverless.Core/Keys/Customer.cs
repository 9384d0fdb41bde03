namespace Serverless.Core.Keys;

/// <summary>Who pays for a key's usage. Created on the fly the first time a key is issued for a new id.</summary>
public sealed class Customer
{
    /// <summary>The id given when the first key was created (e.g. "acme"); the ledger and billing refer to it.</summary>
    public required string Id { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Set by billing (e.g. unpaid invoices); every key of a disabled customer stops authenticating.</summary>
    public bool Disabled { get; set; }

    /// <summary>The Stripe customer (cus_…) usage is billed to; usage of a customer without one is not exported.</summary>
    public string? StripeCustomerId { get; set; }

    /// <summary>The latest Stripe subscription status seen in a webhook (active, past_due, canceled, …).</summary>
    public string? SubscriptionStatus { get; set; }

    /// <summary>The subscription (sub_…) whose event set <see cref="SubscriptionStatus"/>.</summary>
    public string? SubscriptionId { get; set; }

    /// <summary>When Stripe created the event that set <see cref="SubscriptionStatus"/>: an older event is not applied over it.</summary>
    public DateTimeOffset? SubscriptionEventCreated { get; set; }
}
