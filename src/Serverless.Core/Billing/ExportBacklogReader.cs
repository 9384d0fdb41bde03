using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Serverless.Core.Data;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Billing;

/// <summary>
/// Settled usage not yet accepted by Stripe, for the export-lag gauges: records still in the outbox plus those in
/// pending buckets, and the age of the oldest. Answered from memory; a collection that finds the figure older than
/// <see cref="RefreshInterval"/> starts one refresh in the background (three small queries: a count of the outbox, its
/// first row by key, and the pending buckets through their status index), so a scrape never waits on the database and
/// the database sees at most one refresh per interval however often it is scraped.
/// </summary>
public sealed partial class ExportBacklogReader(IDbContextFactory<ServerlessDbContext> databases, TimeProvider time, ILogger<ExportBacklogReader> logger) : IExportBacklog
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(15);

    private readonly Lock _lock = new();
    private ExportBacklog? _latest;
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;
    private Task? _refreshing;

    public ExportBacklog? Latest()
    {
        lock (_lock)
        {
            if (_refreshing is null && time.GetUtcNow() - _readAt >= RefreshInterval)
            {
                _refreshing = Task.Run(RefreshAsync);
            }

            return _latest;
        }
    }

    /// <summary>Reads the backlog now (the background refresh; tests call it to wait for a figure).</summary>
    public async Task<ExportBacklog> ReadAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        long queued = await db.Set<ExportQueueItem>().LongCountAsync(cancellationToken);
        var oldestQueued = queued == 0 ? null : await db.Set<ExportQueueItem>().OrderBy(q => q.RecordId).Select(q => (DateTimeOffset?)q.EndedAt).FirstOrDefaultAsync(cancellationToken);
        var pendingBuckets = db.Set<ExportBucket>().Where(b => b.Status == ExportStatus.Pending && !b.IsCorrection);
        long inBuckets = await pendingBuckets.SumAsync(b => b.Records, cancellationToken);
        var oldestBucket = await pendingBuckets.OrderBy(b => b.BucketStart).Select(b => (DateTimeOffset?)b.BucketStart).FirstOrDefaultAsync(cancellationToken);
        long records = queued + inBuckets;
        var oldest = oldestBucket is null || (oldestQueued is not null && oldestQueued < oldestBucket) ? oldestQueued : oldestBucket;
        var backlog = new ExportBacklog(records, oldest is { } at ? (now - at < TimeSpan.Zero ? TimeSpan.Zero : now - at) : null);
        lock (_lock)
        {
            _latest = backlog;
            _readAt = now;
        }

        return backlog;
    }

    private async Task RefreshAsync()
    {
        try
        {
            await ReadAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The gauges keep the last figure; the next collection after the interval tries again.
            LogRefreshFailed(logger, ex);
            lock (_lock)
            {
                _readAt = time.GetUtcNow();
            }
        }
        finally
        {
            lock (_lock)
            {
                _refreshing = null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The export backlog could not be read for the metrics")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
