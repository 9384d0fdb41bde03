namespace Serverless.Core.Billing;

public sealed record CustomerObject(string Id, string Name, string? StripeCustomerId, bool Disabled, string? SubscriptionStatus)
{
    public string Object => "customer";
}

public sealed record BucketObject(long Id, string CustomerId, string Meter, string Identifier, long Value, long BucketStart, string Status, int Attempts, string? LastError, bool IsCorrection)
{
    public static BucketObject From(ExportBucket b)
    {
        ArgumentNullException.ThrowIfNull(b);
        return new(b.Id, b.CustomerId, b.Meter, b.Identifier, b.Value, b.BucketStart.ToUnixTimeSeconds(), b.Status, b.Attempts, b.LastError, b.IsCorrection);
    }
}

public sealed record BucketList(IReadOnlyList<BucketObject> Data)
{
    public string Object => "list";
}

public sealed record BillingStatusObject(
    bool StripeConfigured, IReadOnlyList<MeterSetupResult> Meters, long OutboxRecords, long PendingBuckets, long PendingTokens,
    long AcceptedBuckets, long DeadLetterBuckets, long? LastReconciliationId, long? LastReconciliationAt, int? LastReconciliationDifferences);

public sealed record ReconciliationObject(long Id, long Start, long End, int Differences, int Corrections, IReadOnlyList<ReconciliationLine> Lines)
{
    public string Object => "billing.reconciliation";

    public static ReconciliationObject From(ReconciliationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.RunId, r.Start.ToUnixTimeSeconds(), r.End.ToUnixTimeSeconds(), r.Differences, r.Corrections, r.Lines);
    }
}

public sealed record MeterErrorObject(long Id, string EventId, string? MeterId, string Summary, long ReceivedAt);

public sealed record MeterErrorList(IReadOnlyList<MeterErrorObject> Data)
{
    public string Object => "list";
}
