using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Billing;

/// <summary>The outcome of one export pass.</summary>
public sealed record ExportPassResult(bool Ran, string? Reason, int RecordsClaimed, int BucketsAccepted, int BucketsRetrying, int BucketsDeadLettered, int StripeCalls, string Transport);

/// <summary>
/// Moves settled usage to Stripe: outbox records become buckets (one ledger transaction), due buckets are sent
/// (v1 one by one at low volume, the v2 stream above <see cref="StripeOptions.StreamThreshold"/>), and each
/// bucket is marked accepted only after Stripe accepted it. A crash anywhere leaves buckets pending, and the
/// next pass re-sends the same identifiers, which Stripe deduplicates. 429/5xx/timeouts back off with jitter
/// (honouring Retry-After); other 4xx dead-letter the bucket. One exporter at a time (over all instances and the
/// CLI) runs a pass: it holds the export lease, renewed while the pass runs (<see cref="ExportLeaseHeartbeat"/>)
/// and released at its end; a pass that loses the lease starts no new Stripe call.
/// </summary>
public sealed partial class UsageExporter(
    LedgerWriter ledger,
    IDbContextFactory<ServerlessDbContext> databases,
    MeterEventSender sender,
    InstanceIdentity instance,
    IOptions<StripeOptions> options,
    TimeProvider time,
    ILogger<UsageExporter> logger,
    ServerlessMetrics? metrics = null)
{
    public const string LeaseName = "usage-exporter";

    /// <summary>How often a waiting caller (<see cref="RunPassAsync(TimeSpan, Action{ExportLease}, CancellationToken)"/>) tries the lease again.</summary>
    internal static readonly TimeSpan LeasePoll = TimeSpan.FromMilliseconds(250);

    private const string AnotherInstance = "Another instance is exporting.";

    private readonly StripeOptions _options = options.Value;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>One pass now, or nothing if another exporter holds the lease.</summary>
    public Task<ExportPassResult> RunPassAsync(CancellationToken cancellationToken) => RunPassAsync(TimeSpan.Zero, null, cancellationToken);

    /// <summary>
    /// One pass, waiting up to <paramref name="wait"/> for another exporter's running pass to end (it releases the
    /// lease when done; a holder that died loses it after <see cref="StripeOptions.ExportLease"/>). While waiting,
    /// <paramref name="waiting"/> is told who holds the lease and until when, at every try.
    /// </summary>
    public async Task<ExportPassResult> RunPassAsync(TimeSpan wait, Action<ExportLease>? waiting, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return new ExportPassResult(false, "Stripe:ApiKey is not configured; usage stays pending.", 0, 0, 0, 0, 0, "none");
        }

        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var deadline = time.GetUtcNow() + wait;
            ExportLeaseHeartbeat? lease;
            while ((lease = await ExportLeaseHeartbeat.TakeAsync(ledger, LeaseName, instance.InstanceId, _options.ExportLease, time, logger)) is null)
            {
                if (time.GetUtcNow() >= deadline)
                {
                    return new ExportPassResult(false, AnotherInstance, 0, 0, 0, 0, 0, "none");
                }

                if (waiting is not null && await HolderAsync(cancellationToken) is { } holder)
                {
                    waiting(holder);
                }

                await Task.Delay(LeasePoll, time, cancellationToken);
            }

            await using (lease)
            {
                return await RunLeasedPassAsync(lease, cancellationToken);
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<ExportPassResult> RunLeasedPassAsync(ExportLeaseHeartbeat lease, CancellationToken cancellationToken)
    {
        var eventNames = await EventNamesAsync(cancellationToken);
        if (eventNames is null)
        {
            return new ExportPassResult(false, "Meters are not set up; run 'billing setup'.", 0, 0, 0, 0, 0, "none");
        }

        var watch = Stopwatch.StartNew();
        int claimed = 0;
        while (true)
        {
            int taken = await ledger.SubmitAsync(new ExportClaimCommand(_options.ClaimBatchSize, _options.BucketSize, eventNames, time.GetUtcNow()));
            claimed += taken;
            if (taken < _options.ClaimBatchSize)
            {
                break;
            }
        }

        var result = await DeliverDueAsync(lease, cancellationToken);
        result = result with { RecordsClaimed = claimed, Reason = lease.IsLost ? LeaseLost : null };
        LogPass(logger, claimed, result.BucketsAccepted, result.BucketsRetrying, result.BucketsDeadLettered, result.StripeCalls, result.Transport, watch.ElapsedMilliseconds);
        return result;
    }

    private const string LeaseLost = "The export lease was lost during the pass: no new Stripe call was started after that; the rest stays pending.";

    /// <summary>The lease row as it stands (null when nobody holds it).</summary>
    private async Task<ExportLease?> HolderAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<ExportLease>().AsNoTracking().FirstOrDefaultAsync(l => l.Name == LeaseName, cancellationToken);
    }

    /// <summary>Puts dead-lettered buckets back in line (after the cause was fixed, e.g. a customer id corrected).</summary>
    public async Task<int> RetryDeadLettersAsync(IReadOnlyCollection<long>? ids, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Set<ExportBucket>().Where(b => b.Status == ExportStatus.DeadLetter);
        if (ids is { Count: > 0 })
        {
            query = query.Where(b => ids.Contains(b.Id));
        }

        var now = time.GetUtcNow();
        return await query.ExecuteUpdateAsync(set => set
            .SetProperty(b => b.Status, ExportStatus.Pending)
            .SetProperty(b => b.NextAttemptAt, now)
            .SetProperty(b => b.Attempts, 0), cancellationToken);
    }

    private async Task<IReadOnlyDictionary<string, string>?> EventNamesAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var meters = await db.Set<BillingMeter>().AsNoTracking().ToDictionaryAsync(m => m.Kind, m => m.EventName, cancellationToken);
        return MeterKind.All.All(meters.ContainsKey) ? meters : null;
    }

    private async Task<ExportPassResult> DeliverDueAsync(ExportLeaseHeartbeat lease, CancellationToken cancellationToken)
    {
        List<ExportBucket> due;
        var now = time.GetUtcNow();
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            await LateUsage.ShiftDueAsync(db, now, cancellationToken);
            due = await db.Set<ExportBucket>().AsNoTracking()
                .Where(b => b.Status == ExportStatus.Pending && b.NextAttemptAt <= now)
                .OrderBy(b => b.Id)
                .Take(100_000)
                .ToListAsync(cancellationToken);
        }

        if (due.Count == 0)
        {
            return new ExportPassResult(true, null, 0, 0, 0, 0, 0, "none");
        }

        bool stream = due.Count >= _options.StreamThreshold;
        var outcomes = new List<(ExportBucket Bucket, DeliveryResult Result)>(due.Count);
        var gate = new Lock();
        int calls = 0;
        if (stream)
        {
            var chunks = due.Chunk(MeterEventSender.MaxStreamEvents).ToList();
            await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelCalls, CancellationToken = cancellationToken }, async (chunk, token) =>
            {
                if (lease.IsLost)
                {
                    return;
                }

                var result = await sender.StreamAsync(chunk, token);
                lock (gate)
                {
                    calls++;
                    outcomes.AddRange(chunk.Select(b => (b, result)));
                }
            });
        }
        else
        {
            // Stripe allows one concurrent v1 call per customer and meter: each pair is sent in order, pairs in parallel.
            var lanes = due.GroupBy(b => (b.CustomerId, b.Meter)).ToList();
            await Parallel.ForEachAsync(lanes, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelCalls, CancellationToken = cancellationToken }, async (lane, token) =>
            {
                foreach (var bucket in lane)
                {
                    // Without the lease another exporter may already send for this customer and meter: stop here.
                    if (lease.IsLost)
                    {
                        break;
                    }

                    var result = await sender.SendAsync(bucket, token);
                    lock (gate)
                    {
                        calls++;
                        outcomes.Add((bucket, result));
                    }

                    if (result.Status == DeliveryStatus.Retry)
                    {
                        break;
                    }
                }
            });
        }

        await RecordOutcomesAsync(outcomes, stream ? "v2" : "v1", cancellationToken);
        return new ExportPassResult(
            true, null, 0,
            outcomes.Count(o => o.Result.Status == DeliveryStatus.Accepted),
            outcomes.Count(o => o.Result.Status == DeliveryStatus.Retry),
            outcomes.Count(o => o.Result.Status == DeliveryStatus.Rejected),
            calls, stream ? "v2" : "v1");
    }

    private async Task RecordOutcomesAsync(List<(ExportBucket Bucket, DeliveryResult Result)> outcomes, string transport, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var accepted = outcomes.Where(o => o.Result.Status == DeliveryStatus.Accepted).Select(o => o.Bucket.Id).ToList();
        foreach (var chunk in accepted.Chunk(500))
        {
            await db.Set<ExportBucket>().Where(b => chunk.Contains(b.Id) && b.Status == ExportStatus.Pending).ExecuteUpdateAsync(set => set
                .SetProperty(b => b.Status, ExportStatus.Accepted)
                .SetProperty(b => b.AcceptedAt, now)
                .SetProperty(b => b.Transport, transport)
                .SetProperty(b => b.Attempts, b => b.Attempts + 1)
                .SetProperty(b => b.LastError, (string?)null), CancellationToken.None);
        }

        foreach (var (bucket, result) in outcomes.Where(o => o.Result.Status != DeliveryStatus.Accepted))
        {
            int attempts = bucket.Attempts + 1;
            string error = Truncate(result.Error ?? "unknown error");
            if (result.Status == DeliveryStatus.Rejected)
            {
                LogDeadLetter(logger, bucket.Identifier, bucket.CustomerId, error);
                int dead = await db.Set<ExportBucket>().Where(b => b.Id == bucket.Id && b.Status == ExportStatus.Pending).ExecuteUpdateAsync(set => set
                    .SetProperty(b => b.Status, ExportStatus.DeadLetter)
                    .SetProperty(b => b.Attempts, attempts)
                    .SetProperty(b => b.LastError, error), CancellationToken.None);
                metrics?.CountDeadLetters(dead);
            }
            else
            {
                var next = now + Backoff(attempts, result.RetryAfter);
                await db.Set<ExportBucket>().Where(b => b.Id == bucket.Id && b.Status == ExportStatus.Pending).ExecuteUpdateAsync(set => set
                    .SetProperty(b => b.Attempts, attempts)
                    .SetProperty(b => b.NextAttemptAt, next)
                    .SetProperty(b => b.LastError, error), CancellationToken.None);
            }
        }
    }

    /// <summary>Exponential backoff with full jitter, never shorter than the server's Retry-After.</summary>
    public TimeSpan Backoff(int attempts, TimeSpan? retryAfter)
    {
        double ceiling = Math.Min(_options.MaxRetryDelay.TotalMilliseconds, _options.RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 30)));
        var delay = TimeSpan.FromMilliseconds(ceiling / 2 + (Random.Shared.NextDouble() * ceiling / 2));
        return retryAfter is TimeSpan floor && floor > delay ? floor : delay;
    }

    private static string Truncate(string text) => text.Length <= 2000 ? text : text[..2000];

    [LoggerMessage(Level = LogLevel.Information, Message = "Export pass: {Records} records into buckets; {Accepted} accepted, {Retrying} to retry, {Dead} dead-lettered in {Calls} {Transport} calls ({Milliseconds} ms)")]
    private static partial void LogPass(ILogger logger, int records, int accepted, int retrying, int dead, int calls, string transport, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Meter event {Identifier} of customer {CustomerId} was rejected permanently and dead-lettered: {Error}")]
    private static partial void LogDeadLetter(ILogger logger, string identifier, string customerId, string error);
}
