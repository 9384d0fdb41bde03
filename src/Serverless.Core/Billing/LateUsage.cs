using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;

namespace Serverless.Core.Billing;

/// <summary>
/// The late-usage policy. Stripe refuses meter events timestamped more than 35 days back, and a bucket's timestamp is
/// its start, so usage that waited that long (no Stripe key yet, an outage, a dead letter retried weeks later) would be
/// refused on every retry. Before each delivery such a bucket gets <see cref="ExportBucket.StripeTimestamp"/> = the
/// time it is sent: Stripe bills it in the customer's current (open) billing period. Moving it only to the oldest time
/// Stripe accepts would be no better: 34 days back lies in an earlier period whose invoice is final, which Stripe no
/// longer bills. The identifier stays the bucket's, so a re-send is still deduplicated. Reconciliation counts the
/// tokens on the usage day in the ledger columns and on the shifted day in Stripe's (late_out / late_in), so the
/// move is no difference. Corrections are never shifted: a correction belongs to its day or to none.
/// </summary>
public static class LateUsage
{
    /// <summary>How far back Stripe accepts a meter event timestamp.</summary>
    public static readonly TimeSpan StripeWindow = TimeSpan.FromDays(35);

    /// <summary>
    /// Buckets are moved a day before they leave the window: clocks differ, a pass takes time, a retry waits, and
    /// Stripe's "35 calendar days" need not be counted to the second.
    /// </summary>
    public static readonly TimeSpan SafetyMargin = TimeSpan.FromDays(1);

    /// <summary>Timestamps before this are sent as late usage.</summary>
    public static DateTimeOffset Cutoff(DateTimeOffset now) => now - StripeWindow + SafetyMargin;

    /// <summary>The timestamp a bucket is (or was) sent to Stripe with.</summary>
    public static DateTimeOffset Timestamp(ExportBucket bucket)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        return bucket.StripeTimestamp ?? bucket.BucketStart;
    }

    /// <summary>
    /// Gives every due, pending usage bucket whose timestamp is past the cutoff the timestamp <paramref name="now"/>,
    /// before it is sent (and again if it is still pending a month later). Returns how many were moved.
    /// </summary>
    public static Task<int> ShiftDueAsync(ServerlessDbContext db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var cutoff = Cutoff(now);
        return db.Set<ExportBucket>()
            .Where(b => b.Status == ExportStatus.Pending && !b.IsCorrection && b.NextAttemptAt <= now
                && (b.StripeTimestamp ?? b.BucketStart) < cutoff)
            .ExecuteUpdateAsync(set => set.SetProperty(b => b.StripeTimestamp, now), cancellationToken);
    }
}
