namespace Serverless.Core.Billing;

public sealed record CustomerObject(string Id, string Name, string? StripeCustomerId, bool Disabled, string? SubscriptionStatus)
{
    public string Object => "customer";
}

/// <param name="StripeTimestamp">The timestamp sent to Stripe when the late-usage policy moved it from bucket_start; else null.</param>
public sealed record BucketObject(long Id, string CustomerId, string Meter, string Identifier, long Value, long BucketStart, string Status, int Attempts, string? LastError, bool IsCorrection, long? StripeTimestamp)
{
    public static BucketObject From(ExportBucket b)
    {
        ArgumentNullException.ThrowIfNull(b);
        return new(b.Id, b.CustomerId, b.Meter, b.Identifier, b.Value, b.BucketStart.ToUnixTimeSeconds(), b.Status, b.Attempts, b.LastError, b.IsCorrection, b.StripeTimestamp?.ToUnixTimeSeconds());
    }
}

public sealed record BucketList(IReadOnlyList<BucketObject> Data)
{
    public string Object => "list";
}

/// <param name="DeadLetterTokens">Tokens in dead-lettered buckets: Stripe refused them and does not bill them until an admin retries them.</param>
/// <param name="LateBuckets">Buckets sent (or to be sent) under the late-usage policy, with a timestamp after their own (<see cref="LateUsage"/>).</param>
/// <param name="LateTokens">Tokens in those buckets.</param>
public sealed record BillingStatusObject(
    bool StripeConfigured, IReadOnlyList<MeterSetupResult> Meters, long OutboxRecords, long PendingBuckets, long PendingTokens,
    long AcceptedBuckets, long DeadLetterBuckets, long? LastReconciliationId, long? LastReconciliationAt, int? LastReconciliationDifferences,
    long DeadLetterTokens, long LateBuckets, long LateTokens);

/// <param name="Differences">Lines still differing after the run: mismatch, ledger_mismatch and dead_lettered.</param>
/// <param name="DeadLettered">Tokens in the range Stripe refused permanently (reconciliation leaves them to 'billing dead-letters --retry').</param>
public sealed record ReconciliationObject(long Id, long Start, long End, int Differences, int Corrections, long DeadLettered, IReadOnlyList<ReconciliationLine> Lines)
{
    public string Object => "billing.reconciliation";

    public static ReconciliationObject From(ReconciliationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.RunId, r.Start.ToUnixTimeSeconds(), r.End.ToUnixTimeSeconds(), r.Differences, r.Corrections, r.DeadLettered, r.Lines);
    }
}

public sealed record MeterErrorObject(long Id, string EventId, string? MeterId, string Summary, long ReceivedAt);

public sealed record MeterErrorList(IReadOnlyList<MeterErrorObject> Data)
{
    public string Object => "list";
}
