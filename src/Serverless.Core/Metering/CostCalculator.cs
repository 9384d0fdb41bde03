namespace Serverless.Core.Metering;

/// <summary>
/// Exact cost arithmetic: prices are integer micro-USD per million tokens, costs integer micro-USD,
/// rounded once per record to the nearest micro-USD (halves up). No floating point anywhere.
/// </summary>
public static class CostCalculator
{
    private const long BasisPoints = 10_000;

    public static long CostMicroUsd(long promptTokens, long completionTokens, long inputPerMillion, long outputPerMillion, long discountBasisPoints = 0)
    {
        if (promptTokens < 0 || completionTokens < 0 || inputPerMillion < 0 || outputPerMillion < 0 || discountBasisPoints is < 0 or > BasisPoints)
        {
            throw new ArgumentOutOfRangeException(nameof(promptTokens), "Token counts and prices must be non-negative, discounts within 0..10000 basis points.");
        }

        // Units of 1e-6 micro-USD per token, times (1 - discount) in basis points: exact in 128 bits.
        Int128 numerator = ((Int128)promptTokens * inputPerMillion + (Int128)completionTokens * outputPerMillion) * (BasisPoints - discountBasisPoints);
        Int128 denominator = (Int128)1_000_000 * BasisPoints;

        // No request comes near it (a cost from int.MaxValue tokens each way at the highest price is ~4.3e15), but a cost
        // past what a long holds fails here rather than wrapping into a wrong, even negative, amount.
        return checked((long)((numerator + (denominator / 2)) / denominator));
    }
}
