using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;

namespace Serverless.Core.Billing;

/// <summary>Read models for admins (status, dead letters, meter errors), shared by the admin API and the CLI, and the per-customer view for the dashboard.</summary>
public sealed class BillingAdmin(IDbContextFactory<ServerlessDbContext> databases, Microsoft.Extensions.Options.IOptions<StripeOptions> options, TimeProvider time)
{
    private const int MaxInvoices = 24;

    /// <summary>
    /// What a customer's usage of the current period looks like on its way to Stripe, the customer's lines of the
    /// latest reconciliation, and the customer's invoices. Only rows of <paramref name="customerId"/> are read.
    /// </summary>
    public async Task<CustomerBillingObject> CustomerStatusAsync(string customerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        var now = time.GetUtcNow();
        var periodStart = MeteringClock.PeriodStart(now);
        var periodEnd = MeteringClock.PeriodEnd(now);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var customer = await db.Customers.AsNoTracking().SingleOrDefaultAsync(c => c.Id == customerId, cancellationToken);

        // Buckets by status and meter, as the reconciler counts them: corrections are Stripe's side, not the ledger's.
        var buckets = await db.Set<ExportBucket>().AsNoTracking()
            .Where(b => b.CustomerId == customerId && !b.IsCorrection && b.BucketStart >= periodStart && b.BucketStart < periodEnd)
            .GroupBy(b => new { b.Meter, b.Status })
            .Select(g => new { g.Key.Meter, g.Key.Status, Value = g.Sum(b => b.Value) })
            .ToListAsync(cancellationToken);
        var outbox = await db.Set<ExportQueueItem>().AsNoTracking()
            .Where(q => q.CustomerId == customerId && q.EndedAt >= periodStart && q.EndedAt < periodEnd)
            .GroupBy(q => 1)
            .Select(g => new { Prompt = g.Sum(q => q.PromptTokens), Completion = g.Sum(q => q.CompletionTokens) })
            .FirstOrDefaultAsync(cancellationToken);
        var meters = MeterKind.All.Select(meter =>
        {
            long Sum(Func<string, bool> status) => buckets.Where(b => b.Meter == meter && status(b.Status)).Sum(b => b.Value);
            long queued = outbox is null ? 0 : meter == MeterKind.InputTokens ? outbox.Prompt : outbox.Completion;
            return new MeterExportObject(
                meter,
                Sum(s => s is ExportStatus.Accepted or ExportStatus.Cancelled),
                Sum(s => s == ExportStatus.Pending) + queued,
                Sum(s => s == ExportStatus.DeadLetter));
        }).ToList();

        var run = await db.Set<ReconciliationRun>().AsNoTracking().OrderByDescending(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        CustomerReconciliationObject? reconciliation = null;
        if (run is not null)
        {
            var lines = (JsonSerializer.Deserialize(run.Report, ReconciliationReportJsonContext.Default.ListReconciliationLine) ?? [])
                .Where(l => l.CustomerId == customerId).ToList();
            reconciliation = new CustomerReconciliationObject(
                run.Id, run.RanAt.ToUnixTimeSeconds(), run.RangeStart.ToUnixTimeSeconds(), run.RangeEnd.ToUnixTimeSeconds(),
                lines.Count(l => ReconciliationStatus.IsDifference(l.Status)), lines);
        }

        var invoices = await db.Set<BillingPeriod>().AsNoTracking()
            .Where(p => p.CustomerId == customerId)
            .OrderByDescending(p => p.PeriodStart).ThenByDescending(p => p.InvoiceId)
            .Take(MaxInvoices)
            .ToListAsync(cancellationToken);

        return new CustomerBillingObject(
            customerId, options.Value.Enabled, customer?.StripeCustomerId is not null, customer?.SubscriptionStatus, customer?.Disabled ?? false,
            periodStart.ToUnixTimeSeconds(), periodEnd.ToUnixTimeSeconds(), meters, reconciliation,
            invoices.ConvertAll(p => new InvoiceObject(
                p.InvoiceId, p.Status, p.PeriodStart.ToUnixTimeSeconds(), p.PeriodEnd.ToUnixTimeSeconds(), p.AmountDue, p.AmountPaid, p.Currency,
                Uri.TryCreate(p.HostedInvoiceUrl, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps ? url.AbsoluteUri : null,
                p.UpdatedAt.ToUnixTimeSeconds())));
    }

    public async Task<BillingStatusObject> StatusAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var meters = await db.Set<BillingMeter>().AsNoTracking().OrderBy(m => m.Kind)
            .Select(m => new MeterSetupResult(m.Kind, m.EventName, m.StripeMeterId, false)).ToListAsync(cancellationToken);
        var byStatus = await db.Set<ExportBucket>().AsNoTracking().GroupBy(b => b.Status)
            .Select(g => new { Status = g.Key, Count = g.LongCount(), Value = g.Sum(b => b.Value) }).ToListAsync(cancellationToken);
        long outbox = await db.Set<ExportQueueItem>().LongCountAsync(cancellationToken);
        var late = await db.Set<ExportBucket>().AsNoTracking().Where(b => b.StripeTimestamp != null && !b.IsCorrection)
            .GroupBy(b => 1).Select(g => new { Count = g.LongCount(), Value = g.Sum(b => b.Value) }).FirstOrDefaultAsync(cancellationToken);
        var last = await db.Set<ReconciliationRun>().AsNoTracking().OrderByDescending(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        long Count(string status) => byStatus.Where(s => s.Status == status).Sum(s => s.Count);
        return new BillingStatusObject(
            options.Value.Enabled, meters, outbox, Count(ExportStatus.Pending), byStatus.Where(s => s.Status == ExportStatus.Pending).Sum(s => s.Value),
            Count(ExportStatus.Accepted), Count(ExportStatus.DeadLetter), last?.Id, last?.RanAt.ToUnixTimeSeconds(), last?.Differences,
            byStatus.Where(s => s.Status == ExportStatus.DeadLetter).Sum(s => s.Value), late?.Count ?? 0, late?.Value ?? 0);
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
