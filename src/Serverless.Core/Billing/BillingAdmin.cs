using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;

namespace Serverless.Core.Billing;

/// <summary>Read models for admins (status, dead letters, meter errors), shared by the admin API and the CLI.</summary>
public sealed class BillingAdmin(IDbContextFactory<ServerlessDbContext> databases, Microsoft.Extensions.Options.IOptions<StripeOptions> options)
{
    public async Task<BillingStatusObject> StatusAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var meters = await db.Set<BillingMeter>().AsNoTracking().OrderBy(m => m.Kind)
            .Select(m => new MeterSetupResult(m.Kind, m.EventName, m.StripeMeterId, false)).ToListAsync(cancellationToken);
        var byStatus = await db.Set<ExportBucket>().AsNoTracking().GroupBy(b => b.Status)
            .Select(g => new { Status = g.Key, Count = g.LongCount(), Value = g.Sum(b => b.Value) }).ToListAsync(cancellationToken);
        long outbox = await db.Set<ExportQueueItem>().LongCountAsync(cancellationToken);
        var last = await db.Set<ReconciliationRun>().AsNoTracking().OrderByDescending(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        long Count(string status) => byStatus.Where(s => s.Status == status).Sum(s => s.Count);
        return new BillingStatusObject(
            options.Value.Enabled, meters, outbox, Count(ExportStatus.Pending), byStatus.Where(s => s.Status == ExportStatus.Pending).Sum(s => s.Value),
            Count(ExportStatus.Accepted), Count(ExportStatus.DeadLetter), last?.Id, last?.RanAt.ToUnixTimeSeconds(), last?.Differences);
    }

    public async Task<IReadOnlyList<ExportBucket>> DeadLettersAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<ExportBucket>().AsNoTracking().Where(b => b.Status == ExportStatus.DeadLetter).OrderBy(b => b.Id).Take(1000).ToListAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<MeterErrorReport>> MeterErrorsAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<MeterErrorReport>().AsNoTracking().OrderByDescending(r => r.Id).Take(200).ToListAsync(cancellationToken);
    }
}
