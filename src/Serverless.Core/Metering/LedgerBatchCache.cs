namespace Serverless.Core.Metering;

/// <summary>
/// Rows the ledger writer would otherwise read again for every request: the limit policies of keys and customers,
/// the models' prices and (SQLite) the rate windows and budgets of <see cref="LedgerCounters"/>. Held by the writer;
/// <see cref="LedgerWriter"/> empties it at the start of a transaction unless nothing else can have changed the
/// database since its last commit (SQLite's data_version; on PostgreSQL other instances write, so every
/// transaction starts empty), and whenever a transaction fails, since a rolled-back change may be in it.
/// </summary>
internal sealed class LedgerBatchCache
{
    // Rate windows are per minute: without a bound, a long-running writer would keep every past window.
    private const int MaxCounters = 100_000;

    public Dictionary<(string Scope, string Id), Policy> Policies { get; } = [];

    /// <summary>A model's price and the times it holds for: from its EffectiveFrom until the next price's.</summary>
    public Dictionary<string, (PriceRow Price, long From, long Until)> Prices { get; } = new(StringComparer.Ordinal);

    public Dictionary<(string Scope, string Id, long Start), LedgerCounters.Row> Windows { get; } = [];

    public Dictionary<(string Scope, string Id, long Start), LedgerCounters.Row> Budgets { get; } = [];

    /// <summary>The counters changed by the open transaction, in the order they were first changed.</summary>
    public List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> ChangedWindows { get; } = [];

    public List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> ChangedBudgets { get; } = [];

    public void Clear()
    {
        ChangedWindows.Clear();
        ChangedBudgets.Clear();
        Policies.Clear();
        Prices.Clear();
        Windows.Clear();
        Budgets.Clear();
    }

    /// <summary>Forgets the counters once there are many; they are read again when next needed.</summary>
    public void Trim()
    {
        if (Windows.Count + Budgets.Count > MaxCounters)
        {
            Windows.Clear();
            Budgets.Clear();
        }
    }
}

/// <summary>A key's or customer's limits (the defaults where it has no policy row); a null cap is no cap.</summary>
internal readonly record struct Policy(long RequestsPerMinute, long TokensPerMinute, long? SpendCap, long? TokenCap);

internal readonly record struct PriceRow(long Version, long Input, long Output, long BatchDiscount);
