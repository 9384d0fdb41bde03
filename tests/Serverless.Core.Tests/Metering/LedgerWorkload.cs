using Serverless.Core.Metering;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// The requests the ledger-batch tests (group commit, guarded increments, one round trip) send: customer acme's keys
/// asking for 10 prompt tokens and up to 100 completion tokens of the demo model, priced at 250,000 / 900,000 micro-USD
/// per million (<see cref="SetPriceAsync"/>).
/// </summary>
internal static class LedgerWorkload
{
    public const string Model = "demo";
    public const string CustomerId = "acme";

    /// <summary>A request's worst case at that price: 10 prompt + 100 max_tokens, in micro-USD.</summary>
    public const long Reserved = 93;

    private const long InputPerMillion = 250_000;
    private const long OutputPerMillion = 900_000;

    public static Task<Price> SetPriceAsync(LedgerServices ledger) =>
        ledger.Prices.SetAsync(Model, InputPerMillion, OutputPerMillion, batchDiscountBasisPoints: 0, effectiveFrom: null, CancellationToken.None);

    public static AdmissionRequest Request(string requestId, string keyId = "key_a") => new()
    {
        RequestId = requestId,
        KeyId = keyId,
        CustomerId = CustomerId,
        Model = Model,
        PromptTokens = 10,
        MaxTokens = 100,
    };

    public static SettlementRequest Settlement(Reservation reservation, long completion) => new()
    {
        Reservation = reservation,
        CompletionTokens = completion,
        Outcome = UsageOutcome.Completed,
        EndedAt = LedgerServices.Start.AddSeconds(2),
    };

    /// <summary>What a request that generated <paramref name="completion"/> tokens costs.</summary>
    public static long Cost(long completion) => CostCalculator.CostMicroUsd(10, completion, InputPerMillion, OutputPerMillion, 0);
}
