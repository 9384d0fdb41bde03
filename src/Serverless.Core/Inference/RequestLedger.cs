using System.Diagnostics;
using System.Text.Json;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>
/// One admitted request's reservation, settled exactly once whatever path the request takes. With metering
/// switched off (<see cref="MeteringOptions.Enabled"/>) there is no reservation and settling records nothing.
/// </summary>
internal sealed class RequestLedger
{
    private readonly MeteringService? _metering;
    private readonly Reservation? _reservation;
    private readonly TimeProvider _time;
    private TimeSpan _waited;

    /// <param name="admissionTime">How long the request waited for its admission to commit.</param>
    public RequestLedger(MeteringService metering, Admission admission, IdempotencyClaim? idempotency, TimeProvider time, TimeSpan admissionTime = default)
    {
        ArgumentNullException.ThrowIfNull(admission);
        _metering = metering;
        _reservation = admission.Reservation ?? throw new ArgumentException("Only an admitted request has a reservation.", nameof(admission));
        _time = time;
        _waited = admissionTime;
        CustomerId = _reservation.CustomerId;
        Idempotency = idempotency;
    }

    private RequestLedger(string customerId, TimeProvider time)
    {
        _time = time;
        CustomerId = customerId;
    }

    public bool Settled { get; private set; }

    /// <summary>The outcome the request was settled with (or handed to the background settler with); null before.</summary>
    public string? Outcome { get; private set; }

    public string CustomerId { get; }

    public IdempotencyClaim? Idempotency { get; }

    /// <summary>False when metering is switched off: nothing was reserved and nothing will be recorded.</summary>
    public bool Metered => _reservation is not null;

    /// <summary>How long this request has waited on the ledger so far (admission and settlement): what metering adds to it.</summary>
    public TimeSpan WaitedForLedger => _waited;

    /// <summary>A request that bypasses the ledger (metering switched off, for benchmarks and diagnosis).</summary>
    public static RequestLedger Unmetered(string customerId, TimeProvider time) => new(customerId, time);

    /// <summary>
    /// Writes the usage record; null when metering is off. Throws <see cref="ApiException"/> (503) when the ledger
    /// cannot be written.
    /// </summary>
    /// <param name="batchResult">A batch line's output line, stored with its record (see <see cref="SettlementRequest.BatchResult"/>).</param>
    public async Task<Settlement?> SettleAsync(string outcome, long completionTokens, StoredCompletion? result = null, string? batchResult = null)
    {
        // Marked first: if the write fails, the metering service takes over the settlement in the background.
        Settled = true;
        Outcome = outcome;
        if (_metering is null || _reservation is null)
        {
            return null;
        }

        string? stored = null;
        if (result is not null && Idempotency is not null)
        {
            long cost = CostCalculator.CostMicroUsd(_reservation.PromptTokens, completionTokens, _reservation.InputMicroUsdPerMillion, _reservation.OutputMicroUsdPerMillion, _reservation.DiscountBasisPoints);
            stored = JsonSerializer.Serialize(result with { PriceVersion = _reservation.PriceVersion, CostMicroUsd = cost }, StoredCompletionJsonContext.Default.StoredCompletion);
        }

        var settling = Stopwatch.GetTimestamp();
        try
        {
            return await _metering.SettleAsync(new SettlementRequest
            {
                Reservation = _reservation,
                CompletionTokens = completionTokens,
                Outcome = outcome,
                EndedAt = _time.GetUtcNow(),
                Idempotency = Idempotency,
                IdempotentResult = stored,
                BatchResult = batchResult,
            });
        }
        finally
        {
            _waited += Stopwatch.GetElapsedTime(settling);
        }
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
