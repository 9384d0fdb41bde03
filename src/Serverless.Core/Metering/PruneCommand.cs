namespace Serverless.Core.Metering;

/// <summary>
/// Deletes ledger rows nothing can read or change any more: rate windows that ended before <paramref name="windowsBefore"/>
/// and idempotency entries created before <paramref name="idempotencyBefore"/>. Run through the writer, so on SQLite it
/// never contends with the ledger's own transactions, and the writer's cache forgets the windows it deletes.
/// </summary>
internal sealed class PruneCommand(DateTimeOffset windowsBefore, DateTimeOffset idempotencyBefore) : LedgerCommand<PruneResult>
{
    public override bool NeedsSync => false;

    public override void Execute(LedgerBatch batch)
    {
        long windows = windowsBefore.ToUnixTimeMilliseconds();
        int windowRows = batch.Execute(LedgerSql.PruneWindows, ("@before", windows));
        int idempotencyRows = batch.Execute(LedgerSql.PruneIdempotency, ("@before", idempotencyBefore.ToUnixTimeMilliseconds()));
        foreach (var key in batch.Cache.Windows.Keys.Where(k => k.Start < windows).ToList())
        {
            batch.Cache.Windows.Remove(key);
        }

        Result = new PruneResult(windowRows, idempotencyRows);
    }
}

internal readonly record struct PruneResult(int RateWindows, int IdempotencyEntries);
