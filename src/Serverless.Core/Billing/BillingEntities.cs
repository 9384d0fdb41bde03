namespace Serverless.Core.Billing;

/// <summary>A Stripe meter the service reports to: one for input tokens, one for output tokens.</summary>
public sealed class BillingMeter
{
    /// <summary><see cref="MeterKind.InputTokens"/> or <see cref="MeterKind.OutputTokens"/>.</summary>
    public required string Kind { get; set; }

    public required string EventName { get; set; }

    public required string StripeMeterId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

public static class MeterKind
{
    public const string InputTokens = "input_tokens";
    public const string OutputTokens = "output_tokens";

    public static readonly string[] All = [InputTokens, OutputTokens];
}

/// <summary>
/// One meter event: the tokens of one customer on one meter in one time bucket. Its identifier is derived
/// from (customer, meter, bucket, sequence), so re-sending it after a crash is deduplicated by Stripe.
/// Records that arrive after a bucket was created go into a new bucket with the next sequence number.
/// </summary>
public sealed class ExportBucket
{
    public long Id { get; set; }

    public required string CustomerId { get; set; }

    public required string StripeCustomerId { get; set; }

    public required string Meter { get; set; }

    public required string EventName { get; set; }

    public DateTimeOffset BucketStart { get; set; }

    /// <summary>
    /// The timestamp sent to Stripe when it is not <see cref="BucketStart"/>: late usage (a bucket older than Stripe's
    /// 35-day window when it is due) is sent with the time it was sent at; see <see cref="LateUsage"/>. Null: not shifted.
    /// Set before the send and kept across retries, so it is the time Stripe holds the event at.
    /// </summary>
    public DateTimeOffset? StripeTimestamp { get; set; }

    public int Sequence { get; set; }

    public required string Identifier { get; set; }

    public long Value { get; set; }

    public long Records { get; set; }

    /// <summary>One of <see cref="ExportStatus"/>.</summary>
    public required string Status { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public string? LastError { get; set; }

    /// <summary>"v1" or "v2": the API that delivered it.</summary>
    public string? Transport { get; set; }

    /// <summary>
    /// A correction sent by reconciliation to bring Stripe back to the ledger (not usage of its own): it counts
    /// towards what Stripe holds, never towards what the ledger exported.
    /// </summary>
    public bool IsCorrection { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? AcceptedAt { get; set; }
}

public static class ExportStatus
{
    /// <summary>Not yet accepted by Stripe; the exporter sends (or re-sends) it.</summary>
    public const string Pending = "pending";

    public const string Accepted = "accepted";

    /// <summary>
    /// Rejected permanently (a 4xx other than 429); waits for an admin to retry it. Stripe does not have it: reconciliation
    /// reports it as a difference and never resends it on its own.
    /// </summary>
    public const string DeadLetter = "dead_letter";

    /// <summary>Cancelled in Stripe by a meter event adjustment during reconciliation.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>
/// The export outbox: a billable usage record not yet assigned to export buckets. Settlement adds the row in
/// the record's own transaction; the exporter removes it in the transaction that creates the buckets, so a
/// record is exported exactly once and the exporter never scans the whole ledger.
/// </summary>
public sealed class ExportQueueItem
{
    public long RecordId { get; set; }

    public required string CustomerId { get; set; }

    public DateTimeOffset EndedAt { get; set; }

    public long PromptTokens { get; set; }

    public long CompletionTokens { get; set; }
}

/// <summary>A Stripe webhook event already processed (Stripe delivers at least once).</summary>
public sealed class WebhookEvent
{
    public required string EventId { get; set; }

    public required string Type { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>A meter error report from Stripe (events that failed asynchronous validation), for admins.</summary>
public sealed class MeterErrorReport
{
    public long Id { get; set; }

    public required string EventId { get; set; }

    public string? MeterId { get; set; }

    public required string Summary { get; set; }

    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>An invoice (billing period) of a customer as Stripe's webhooks describe it.</summary>
public sealed class BillingPeriod
{
    public required string InvoiceId { get; set; }

    public required string CustomerId { get; set; }

    public required string Status { get; set; }

    public DateTimeOffset PeriodStart { get; set; }

    public DateTimeOffset PeriodEnd { get; set; }

    /// <summary>Amounts in the invoice currency's minor unit (cents for USD).</summary>
    public long AmountDue { get; set; }

    public long AmountPaid { get; set; }

    public required string Currency { get; set; }

    public string? HostedInvoiceUrl { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When Stripe created the event this row was last set from: an older event is not applied over it.</summary>
    public DateTimeOffset? EventCreated { get; set; }
}

/// <summary>The stored outcome of one reconciliation run, shown on the dashboard.</summary>
public sealed class ReconciliationRun
{
    public long Id { get; set; }

    public DateTimeOffset RanAt { get; set; }

    public DateTimeOffset RangeStart { get; set; }

    public DateTimeOffset RangeEnd { get; set; }

    public int Differences { get; set; }

    public int Corrections { get; set; }

    /// <summary>Per customer, meter and day: ledger, exported, Stripe; JSON.</summary>
    public required string Report { get; set; }
}

/// <summary>A lease that lets one exporter at a time run a pass (several instances may try).</summary>
public sealed class ExportLease
{
    public required string Name { get; set; }

    public required string Holder { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}
