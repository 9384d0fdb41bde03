namespace Serverless.Testing.Stripe;

/// <summary>The invoice carried by an invoice.* webhook; amounts in the currency's minor unit.</summary>
public sealed record InvoiceSnapshot(
    string Id,
    string CustomerId,
    string Status,
    long AmountDue,
    long AmountPaid,
    string Currency,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd)
{
    public string? SubscriptionId { get; init; }

    public long AttemptCount { get; init; }

    public string BillingReason { get; init; } = "subscription_cycle";

    public DateTimeOffset? NextPaymentAttempt { get; init; }
}
