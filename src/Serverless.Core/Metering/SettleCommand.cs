using System.Globalization;

namespace Serverless.Core.Metering;

/// <summary>
/// Turns a reservation into the request's one usage record: deletes the reservation (the guard against
/// settling twice), inserts the record, moves budgets from reserved to spent, gives unused tokens back to
/// the rate window and stores or releases the idempotent result, all in the batch's transaction. A reservation that
/// is gone, or held by another instance (a batch line resumed there), is not settled here: the existing record, if
/// any, is returned instead.
/// </summary>
internal sealed class SettleCommand(SettlementRequest request, string instanceId) : LedgerCommand<Settlement>
{
    public override void Declare(PostgresPrefetch prefetch)
    {
        ArgumentNullException.ThrowIfNull(prefetch);
        var r = request.Reservation;
        prefetch.Settle(r.RequestId, r.InstanceId);
        long period = r.PeriodStart.ToUnixTimeMilliseconds();
        prefetch.Budget(LimitScope.Key, r.KeyId, period);
        prefetch.Budget(LimitScope.Customer, r.CustomerId, period);
        if (r.BatchId is null)
        {
            long window = r.WindowStart.ToUnixTimeMilliseconds();
            prefetch.Window(LimitScope.Key, r.KeyId, window);
            prefetch.Window(LimitScope.Customer, r.CustomerId, window);
        }
    }

    // Its reservation counts as deleted; the batch's round trip checks that it was (LedgerSql.DeleteReservationsExactly).
    public override bool CanRunOnHints(PostgresHints hints) => true;

    public override void Execute(LedgerBatch batch) => Result = Settle(batch, request, instanceId);

    internal static Settlement Settle(LedgerBatch batch, SettlementRequest request, string instanceId)
    {
        var r = request.Reservation;
        bool billable = UsageOutcome.IsBillable(request.Outcome);
        var amounts = new Amounts(
            Prompt: billable ? r.PromptTokens : 0,
            Completion: billable ? request.CompletionTokens : 0,
            ReservedTokens: r.PromptTokens + r.MaxTokens,
            Ended: request.EndedAt.ToUnixTimeMilliseconds());
        long cost = CostCalculator.CostMicroUsd(amounts.Prompt, amounts.Completion, r.InputMicroUsdPerMillion, r.OutputMicroUsdPerMillion, r.DiscountBasisPoints);
        bool settled = batch.Writes is { } writes
            ? SettleWithBatch(batch, writes, request, instanceId, amounts, cost)
            : SettleStatements(batch, request, instanceId, amounts, cost);
        if (!settled)
        {
            return Existing(batch, r.RequestId);
        }

        if (r.BatchId is not null && request.BatchResult is { } output)
        {
            batch.Write(LedgerSql.InsertBatchResult, ("@requestId", r.RequestId), ("@batch", r.BatchId), ("@result", output));
        }

        if (request.Idempotency is { } claim)
        {
            if (request.IdempotentResult is { } result)
            {
                batch.Write(LedgerSql.CompleteIdempotency, ("@customer", r.CustomerId), ("@key", claim.Key), ("@requestId", r.RequestId), ("@result", result));
            }
            else
            {
                // The first attempt did not produce a result the client received: a retry must run for real.
                batch.Write(LedgerSql.ReleaseIdempotency, ("@customer", r.CustomerId), ("@key", claim.Key), ("@requestId", r.RequestId));
            }
        }
        else if (request.Orphaned)
        {
            // Its instance died mid-request: without this, a retry with the same key would be refused as "still being
            // processed" for the whole idempotency window, although nothing is processing it any more.
            batch.Write(LedgerSql.ReleaseIdempotencyOfRequest, ("@customer", r.CustomerId), ("@requestId", r.RequestId));
        }

        return new Settlement(r.RequestId, amounts.Prompt, amounts.Completion, r.PriceVersion, cost, request.Outcome, SettledHere: true) { BatchResult = request.BatchResult };
    }

    // Batch lines took nothing from the rate window (see AdmissionCommand), so they give nothing back.
    private static bool GivesBack(Reservation r, Amounts amounts) => amounts.Unused != 0 && r.BatchId is null;

    // SQLite runs in process, so a statement costs no round trip: one at a time, only those that change something.
    private static bool SettleStatements(LedgerBatch batch, SettlementRequest request, string instanceId, Amounts amounts, long cost)
    {
        var r = request.Reservation;
        if (batch.Execute(LedgerSql.DeleteReservation, ("@requestId", r.RequestId), ("@instance", r.InstanceId)) == 0)
        {
            return false;
        }

        long recordId = batch.ExecuteInt64(
            LedgerSql.InsertUsage,
            ("@requestId", r.RequestId), ("@key", r.KeyId), ("@customer", r.CustomerId), ("@model", r.Model), ("@prompt", amounts.Prompt),
            ("@completion", amounts.Completion), ("@priceVersion", r.PriceVersion), ("@cost", cost), ("@started", r.StartedAt.ToUnixTimeMilliseconds()),
            ("@ended", amounts.Ended), ("@outcome", request.Outcome), ("@instance", instanceId), ("@batch", r.BatchId));
        if (amounts.Tokens > 0)
        {
            batch.Execute(
                LedgerSql.EnqueueExport,
                ("@recordId", recordId), ("@customer", r.CustomerId), ("@ended", amounts.Ended), ("@prompt", amounts.Prompt), ("@completion", amounts.Completion));
        }

        Count(batch, r, amounts, cost);
        return true;
    }

    // Budgets and windows are counted in memory for the transaction and written once (LedgerCounters); like the
    // UPDATEs they stand for, they change only rows that exist.
    private static void Count(LedgerBatch batch, Reservation r, Amounts amounts, long cost)
    {
        var counters = batch.Counters;
        long period = r.PeriodStart.ToUnixTimeMilliseconds();
        long reservedCost = -r.ReservedMicroUsd;
        long reservedTokens = -amounts.ReservedTokens;
        counters.Budget(LimitScope.Key, r.KeyId, period).AddIfExists(cost, reservedCost, amounts.Tokens, reservedTokens);
        counters.Budget(LimitScope.Customer, r.CustomerId, period).AddIfExists(cost, reservedCost, amounts.Tokens, reservedTokens);
        if (GivesBack(r, amounts))
        {
            long window = r.WindowStart.ToUnixTimeMilliseconds();
            counters.Window(LimitScope.Key, r.KeyId, window).AddIfExists(0, -amounts.Unused);
            counters.Window(LimitScope.Customer, r.CustomerId, window).AddIfExists(0, -amounts.Unused);
        }
    }

    // PostgreSQL: the batch deleted the reservation before any command ran if the instance named in it still held it
    // (Declare, PostgresPrefetch), so whether to bill is known here; the record joins the batch's writes (PostgresWrites),
    // sent with those of every other settlement in the batch.
    private static bool SettleWithBatch(LedgerBatch batch, PostgresWrites writes, SettlementRequest request, string instanceId, Amounts amounts, long cost)
    {
        var r = request.Reservation;
        var key = (r.RequestId, r.InstanceId);
        if (!batch.Settling.TryGetValue(key, out bool deleted))
        {
            // Not named by Declare: deleted now, in a round trip of its own.
            var prefetch = new PostgresPrefetch();
            prefetch.Settle(r.RequestId, r.InstanceId);
            prefetch.Run(batch);
            deleted = batch.Settling[key];
        }

        if (!deleted)
        {
            return false;
        }

        batch.Settling[key] = false;
        writes.InsertUsage(new UsageRow(
            r.RequestId, r.KeyId, r.CustomerId, r.Model, amounts.Prompt, amounts.Completion, r.PriceVersion, cost,
            r.StartedAt.ToUnixTimeMilliseconds(), amounts.Ended, request.Outcome, instanceId, r.BatchId));
        Count(batch, r, amounts, cost);
        return true;
    }

    /// <summary>What a settlement bills and moves: the tokens billed, those reserved, and the end time.</summary>
    private readonly record struct Amounts(long Prompt, long Completion, long ReservedTokens, long Ended)
    {
        public long Tokens => Prompt + Completion;

        public long Unused => ReservedTokens - Tokens;
    }

    /// <summary>The record a request id already has (with a batch line's stored output), or a "nothing billed" answer.</summary>
    // Never settled and no longer reserved: nothing to bill, and nothing here may fail the batch.
    private static Settlement Existing(LedgerBatch batch, string requestId) =>
        Find(batch, requestId) ?? new Settlement(requestId, 0, 0, 0, 0, UsageOutcome.Rejected, SettledHere: false);

    /// <summary>The record a request id has, with a batch line's stored output; null when it has none.</summary>
    internal static Settlement? Find(LedgerBatch batch, string requestId)
    {
        using var reader = batch.Command(LedgerSql.SelectUsageWithBatchResult, ("@requestId", requestId)).ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new Settlement(requestId, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4), SettledHere: false)
        {
            BatchResult = reader.IsDBNull(5) ? null : reader.GetString(5),
        };
    }
}
