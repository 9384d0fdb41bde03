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
    public override void Execute(LedgerBatch batch) => Result = Settle(batch, request, instanceId);

    internal static Settlement Settle(LedgerBatch batch, SettlementRequest request, string instanceId)
    {
        var r = request.Reservation;
        if (batch.Execute(LedgerSql.DeleteReservation, ("@requestId", r.RequestId), ("@instance", r.InstanceId)) == 0)
        {
            return Existing(batch, r.RequestId);
        }

        bool billable = UsageOutcome.IsBillable(request.Outcome);
        long completion = billable ? request.CompletionTokens : 0;
        long prompt = billable ? r.PromptTokens : 0;
        long cost = CostCalculator.CostMicroUsd(prompt, completion, r.InputMicroUsdPerMillion, r.OutputMicroUsdPerMillion, r.DiscountBasisPoints);
        batch.Execute(
            LedgerSql.InsertUsage,
            ("@requestId", r.RequestId), ("@key", r.KeyId), ("@customer", r.CustomerId), ("@model", r.Model), ("@prompt", prompt),
            ("@completion", completion), ("@priceVersion", r.PriceVersion), ("@cost", cost), ("@started", r.StartedAt.ToUnixTimeMilliseconds()),
            ("@ended", request.EndedAt.ToUnixTimeMilliseconds()), ("@outcome", request.Outcome), ("@instance", instanceId), ("@batch", r.BatchId));

        if (prompt + completion > 0)
        {
            batch.Execute(LedgerSql.EnqueueExport, ("@requestId", r.RequestId));
        }

        if (r.BatchId is not null && request.BatchResult is { } output)
        {
            batch.Execute(LedgerSql.InsertBatchResult, ("@requestId", r.RequestId), ("@batch", r.BatchId), ("@result", output));
        }

        long reservedTokens = r.PromptTokens + r.MaxTokens;
        long period = r.PeriodStart.ToUnixTimeMilliseconds();
        long window = r.WindowStart.ToUnixTimeMilliseconds();
        batch.Execute(
            LedgerSql.SettleBudgets,
            ("@key", r.KeyId), ("@customer", r.CustomerId), ("@period", period), ("@reservedCost", r.ReservedMicroUsd), ("@reservedTokens", reservedTokens),
            ("@cost", cost), ("@tokens", prompt + completion));
        long unused = reservedTokens - prompt - completion;

        // Batch lines took nothing from the rate window (see AdmissionCommand), so they give nothing back.
        if (unused != 0 && r.BatchId is null)
        {
            batch.Execute(LedgerSql.GiveBackWindowTokens, ("@key", r.KeyId), ("@customer", r.CustomerId), ("@window", window), ("@tokens", unused));
        }

        if (request.Idempotency is { } claim)
        {
            if (request.IdempotentResult is { } result)
            {
                batch.Execute(LedgerSql.CompleteIdempotency, ("@customer", r.CustomerId), ("@key", claim.Key), ("@requestId", r.RequestId), ("@result", result));
            }
            else
            {
                // The first attempt did not produce a result the client received: a retry must run for real.
                batch.Execute(LedgerSql.ReleaseIdempotency, ("@customer", r.CustomerId), ("@key", claim.Key), ("@requestId", r.RequestId));
            }
        }
        else if (request.Orphaned)
        {
            // Its instance died mid-request: without this, a retry with the same key would be refused as "still being
            // processed" for the whole idempotency window, although nothing is processing it any more.
            batch.Execute(LedgerSql.ReleaseIdempotencyOfRequest, ("@customer", r.CustomerId), ("@requestId", r.RequestId));
        }

        return new Settlement(r.RequestId, prompt, completion, r.PriceVersion, cost, request.Outcome, SettledHere: true) { BatchResult = request.BatchResult };
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
