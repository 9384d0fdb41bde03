namespace Serverless.Core.Billing;

/// <summary>
/// One customer's billing state, for the customer's own dashboard: the per-customer counterpart of
/// <see cref="BillingStatusObject"/>. Token counts cover the current budget period (calendar month, UTC).
/// </summary>
/// <param name="StripeConfigured">Whether this deployment exports usage to Stripe at all.</param>
/// <param name="StripeLinked">Whether the customer has a Stripe customer to bill (else usage stays unexported).</param>
/// <param name="Meters">Exported, pending and held tokens per meter (input_tokens, output_tokens).</param>
/// <param name="LastReconciliation">The latest reconciliation run, with only this customer's lines; null if none ran.</param>
/// <param name="Invoices">Billing periods from Stripe's invoice webhooks, newest first.</param>
public sealed record CustomerBillingObject(
    string Customer,
    bool StripeConfigured,
    bool StripeLinked,
    string? SubscriptionStatus,
    bool Disabled,
    long PeriodStart,
    long PeriodEnd,
    IReadOnlyList<MeterExportObject> Meters,
    CustomerReconciliationObject? LastReconciliation,
    IReadOnlyList<InvoiceObject> Invoices)
{
    public string Object => "billing.customer_status";
}

/// <param name="Exported">Tokens handed to Stripe (accepted meter events; reconciliation counts cancelled ones here too).</param>
/// <param name="Pending">Tokens recorded in the ledger and not yet accepted by Stripe (outbox and pending events).</param>
/// <param name="Held">Tokens in events Stripe refused; an operator retries them.</param>
public sealed record MeterExportObject(string Meter, long Exported, long Pending, long Held);

public sealed record CustomerReconciliationObject(long Id, long RanAt, long RangeStart, long RangeEnd, int Differences, IReadOnlyList<ReconciliationLine> Lines);

/// <param name="HostedInvoiceUrl">Stripe's page for the invoice; only https URLs are passed on.</param>
public sealed record InvoiceObject(string InvoiceId, string Status, long PeriodStart, long PeriodEnd, long AmountDue, long AmountPaid, string Currency, string? HostedInvoiceUrl, long UpdatedAt);
