namespace Serverless.Core.Metering;

/// <summary>
/// What the commands of one transaction read and would otherwise read again for every request: the limit policies of
/// keys and customers and the models' prices. Only rows the ledger writer never writes, and only for the one
/// transaction, so an answer from here is the answer the database would have given.
/// </summary>
internal sealed class LedgerBatchCache
{
    public Dictionary<(string Scope, string Id), Policy> Policies { get; } = [];

    /// <summary>A model's price and the times it holds for: from its EffectiveFrom until the next price's.</summary>
    public Dictionary<string, (PriceRow Price, long From, long Until)> Prices { get; } = new(StringComparer.Ordinal);
}

/// <summary>A key's or customer's limits (the defaults where it has no policy row); a null cap is no cap.</summary>
internal readonly record struct Policy(long RequestsPerMinute, long TokensPerMinute, long? SpendCap, long? TokenCap);

internal readonly record struct PriceRow(long Version, long Input, long Output, long BatchDiscount);
