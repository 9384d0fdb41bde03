namespace Serverless.Core.Metering;

/// <summary>
/// A price book entry. Entries are never edited: a new price is a new version with an effective-from time,
/// and each usage record keeps the version it was priced with.
/// </summary>
public sealed class Price
{
    /// <summary>The price version.</summary>
    public long Id { get; set; }

    public required string Model { get; set; }

    /// <summary>Micro-USD per million input (prompt) tokens: 500000 is $0.50 per million.</summary>
    public long InputMicroUsdPerMillion { get; set; }

    public long OutputMicroUsdPerMillion { get; set; }

    /// <summary>Discount for batch requests in basis points (5000 = 50% off).</summary>
    public long BatchDiscountBasisPoints { get; set; }

    public DateTimeOffset EffectiveFrom { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
