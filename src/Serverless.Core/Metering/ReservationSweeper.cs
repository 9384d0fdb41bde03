using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;

namespace Serverless.Core.Metering;

/// <summary>
/// Keeps this instance's heartbeat and settles reservations nobody else will: those of instances that died
/// (no heartbeat for <see cref="MeteringOptions.DeadInstanceAfter"/>, or a process on this machine that no
/// longer exists), very old ones, and settlements that failed to write. Policy: such a request is recorded as
/// <see cref="UsageOutcome.FailedAfterStart"/> and billed for its prompt tokens only. Batch lines are left to the
/// orchestration that resumes them, unless older than <see cref="MeteringOptions.OrphanReservationAfter"/>.
/// </summary>
public sealed partial class ReservationSweeper(
    MeteringService metering,
    LedgerWriter writer,
    InstanceIdentity instance,
    IDbContextFactory<ServerlessDbContext> databases,
    IOptions<MeteringOptions> options,
    TimeProvider time,
    IEnumerable<IInstanceLoadSource> loads,
    ILogger<ReservationSweeper> logger) : BackgroundService
{
    private readonly MeteringOptions _options = options.Value;

    private readonly IInstanceLoadSource? _load = loads.LastOrDefault();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Registered before the first request is served, so no reservation of ours ever looks orphaned.
        await writer.SubmitAsync(new HeartbeatCommand(instance, time.GetUtcNow(), _load?.Current()));
        await base.StartAsync(cancellationToken);
    }

    /// <summary>One sweep: settles every orphaned reservation it finds and returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var candidates = await (
            from r in db.Set<Reservation>()
            where r.InstanceId != instance.InstanceId || r.StartedAt < now - _options.OrphanReservationAfter
            join i in db.Set<LedgerInstance>() on r.InstanceId equals i.InstanceId into owners
            from owner in owners.DefaultIfEmpty()
            select new { Reservation = r, Owner = owner })
            .AsNoTracking()
            .ToListAsync(cancellationToken);

        var orphans = candidates
            .Where(c => IsOrphan(c.Reservation, c.Owner, now))
            .Select(c => c.Reservation)
            .ToList();
        if (orphans.Count == 0)
        {
            return 0;
        }

        var settled = await Task.WhenAll(orphans.Select(r => metering.SettleOrphanAsync(new SettlementRequest
        {
            Reservation = r,
            CompletionTokens = 0,
            Outcome = UsageOutcome.FailedAfterStart,
            EndedAt = now,
            Orphaned = true,
        })));
        int count = settled.Count(s => s.SettledHere);
        LogSwept(logger, count, orphans.Count);
        return count;
    }

    /// <summary>
    /// Deletes the ledger's rows that only grow otherwise: rate windows that ended longer ago than a reservation can
    /// live (<see cref="MeteringOptions.OrphanReservationAfter"/>: no settlement can give tokens back to them any
    /// more), and idempotency entries older than <see cref="MeteringOptions.IdempotencyWindow"/> (no retry is
    /// replayed from them any more; kept at least as long as a reservation, so a request still running keeps its own).
    /// </summary>
    public async Task<(int RateWindows, int IdempotencyEntries)> PruneAsync()
    {
        var now = time.GetUtcNow();
        var windowsBefore = MeteringClock.WindowStart(now - _options.OrphanReservationAfter);
        var idempotencyBefore = now - (_options.IdempotencyWindow > _options.OrphanReservationAfter ? _options.IdempotencyWindow : _options.OrphanReservationAfter);
        var pruned = await writer.SubmitAsync(new PruneCommand(windowsBefore, idempotencyBefore));
        if (pruned.RateWindows + pruned.IdempotencyEntries > 0)
        {
            LogPruned(logger, pruned.RateWindows, pruned.IdempotencyEntries);
        }

        return (pruned.RateWindows, pruned.IdempotencyEntries);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var deferred = DrainDeferredAsync(stoppingToken);
        var lastHeartbeat = time.GetUtcNow();
        var lastPrune = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
                if (time.GetUtcNow() - lastHeartbeat >= _options.HeartbeatInterval)
                {
                    await writer.SubmitAsync(new HeartbeatCommand(instance, time.GetUtcNow(), _load?.Current()));
                    lastHeartbeat = time.GetUtcNow();
                }

                if (time.GetUtcNow() - lastPrune >= PruneInterval)
                {
                    await PruneAsync();
                    lastPrune = time.GetUtcNow();
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }

            try
            {
                await Task.Delay(Min(_options.SweepInterval, _options.HeartbeatInterval), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await deferred;
    }

    // Rows become prunable a minute at a time; sweeping more often would find nothing new.
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    // Settlements whose write failed are retried until they land; the reservation stays open (and counted
    // against the budget) until then, which errs on the side of never overspending.
    private async Task DrainDeferredAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in metering.DeferredSettlements.ReadAllAsync(stoppingToken))
            {
                var delay = TimeSpan.FromMilliseconds(200);
                while (true)
                {
                    try
                    {
                        await metering.SettleOrphanAsync(request);
                        break;
                    }
                    catch (LedgerUnavailableException)
                    {
                        await Task.Delay(delay, time, stoppingToken);
                        delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private bool IsOrphan(Reservation reservation, LedgerInstance? owner, DateTimeOffset now)
    {
        if (reservation.StartedAt < now - _options.OrphanReservationAfter)
        {
            return true;
        }

        if (reservation.BatchId is not null)
        {
            // A batch line's activity runs again after its instance dies, and resumes this reservation (one record,
            // the real usage). Settling it here would bill the prompt and turn a line the orchestration finishes
            // into a failure; only a line nobody resumed within OrphanReservationAfter is settled.
            return false;
        }

        if (owner is null)
        {
            // The owner never registered (or was pruned): give it the same grace as a silent instance.
            return reservation.StartedAt < now - _options.DeadInstanceAfter;
        }

        return owner.LastSeenAt < now - _options.DeadInstanceAfter
            || instance.IsDeadLocalInstance(owner);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Settled {Settled} of {Found} orphaned reservations as failed_after_start (prompt billed)")]
    private static partial void LogSwept(ILogger logger, int settled, int found);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {RateWindows} past rate windows and {IdempotencyEntries} expired idempotency entries")]
    private static partial void LogPruned(ILogger logger, int rateWindows, int idempotencyEntries);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reservation sweep failed; retrying at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
