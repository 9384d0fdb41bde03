using System.Text.Json;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>One admitted request's reservation, settled exactly once whatever path the request takes.</summary>
internal sealed class RequestLedger(MeteringService metering, Admission admission, IdempotencyClaim? idempotency, TimeProvider time)
{
    private readonly Reservation _reservation = admission.Reservation ?? throw new ArgumentException("Only an admitted request has a reservation.", nameof(admission));

    public bool Settled { get; private set; }

    public string CustomerId => _reservation.CustomerId;

    public IdempotencyClaim? Idempotency => idempotency;

    /// <summary>Writes the usage record. Throws <see cref="ApiException"/> (503) when the ledger cannot be written.</summary>
    /// <param name="batchResult">A batch line's output line, stored with its record (see <see cref="SettlementRequest.BatchResult"/>).</param>
    public Task<Settlement> SettleAsync(string outcome, long completionTokens, StoredCompletion? result = null, string? batchResult = null)
    {
        // Marked first: if the write fails, the metering service takes over the settlement in the background.
        Settled = true;
        string? stored = null;
        if (result is not null && idempotency is not null)
        {
            long cost = CostCalculator.CostMicroUsd(_reservation.PromptTokens, completionTokens, _reservation.InputMicroUsdPerMillion, _reservation.OutputMicroUsdPerMillion, _reservation.DiscountBasisPoints);
            stored = JsonSerializer.Serialize(result with { PriceVersion = _reservation.PriceVersion, CostMicroUsd = cost }, StoredCompletionJsonContext.Default.StoredCompletion);
        }

        return metering.SettleAsync(new SettlementRequest
        {
            Reservation = _reservation,
            CompletionTokens = completionTokens,
            Outcome = outcome,
            EndedAt = time.GetUtcNow(),
            Idempotency = idempotency,
            IdempotentResult = stored,
            BatchResult = batchResult,
        });
    }

    /// <summary>Settles if nothing has yet; failures are already handed to the background settler, so they are not rethrown.</summary>
    public async Task SettleQuietlyAsync(string outcome, long completionTokens)
    {
        if (Settled)
        {
            return;
        }

        try
        {
            await SettleAsync(outcome, completionTokens);
        }
        catch (ApiException)
        {
        }
    }
}
