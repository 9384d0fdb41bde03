using System.Diagnostics;

namespace Serverless.Core.Metering;

/// <summary>
/// PostgreSQL: what this writer last saw in the database (after each of its commits). The rate windows and budgets are
/// the starting point of a batch on the guarded path (<see cref="LedgerBatch.Guarded"/>), which reads and locks nothing
/// before its commands run; the limit policies and prices let a batch skip its reading round trip altogether
/// (<see cref="LedgerBatch.OneRoundTrip"/>). Only ever hints: other instances and the admin API change these rows
/// at any time, and the batch's own round trip checks, before its COMMIT, every one it relied on: the increments
/// re-check every limit on the rows as they are (<see cref="LedgerSql.GuardWindows"/>), and the policies and prices are
/// compared with the database's (<see cref="LedgerSql.CheckPolicies"/>, <see cref="LedgerSql.CheckPrices"/>). What the
/// hints decide is the path, and how far the rate-limit headers computed before the commit are off (they are corrected
/// from the values the increments return). Held by the writer, used by its thread only.
/// </summary>
internal sealed class PostgresHints
{
    // Rate windows are per minute: without a bound, a long-running writer would keep every past window.
    private const int MaxRows = 100_000;

    // How long the writer stays on the locking path after a batch left the guarded one: near a limit, where guards
    // fail, every batch would otherwise be written twice. A performance matter, not the service's time: the monotonic
    // clock, not TimeProvider.
    private static readonly long LockingSpell = Stopwatch.Frequency;

    private readonly Dictionary<(string Scope, string Id, long Start), (long A, long B)> _windows = [];
    private readonly Dictionary<(string Scope, string Id, long Start), (long A, long B, long C, long D)> _budgets = [];
    private readonly Dictionary<(string Scope, string Id), Policy> _policies = [];
    private readonly Dictionary<string, (PriceRow Price, long From, long Until)> _prices = new(StringComparer.Ordinal);
    private long _lockingUntil = long.MinValue;

    /// <summary>Whether the writer has seen the key's and the customer's policies (or that they have none).</summary>
    public bool KnowsPolicies(string keyId, string customerId) =>
        _policies.ContainsKey((LimitScope.Key, keyId)) && _policies.ContainsKey((LimitScope.Customer, customerId));

    /// <summary>Whether the writer has seen the model's price for <paramref name="at"/> (Unix ms).</summary>
    public bool KnowsPrice(string model, long at) => _prices.TryGetValue(model, out var seen) && seen.From <= at && at < seen.Until;

    /// <summary>Puts what the writer saw into a batch's cache, for its commands to use without reading.</summary>
    public void CopyTo(LedgerBatchCache cache, IEnumerable<(string Scope, string Id)> policies, IEnumerable<string> models)
    {
        foreach (var key in policies)
        {
            cache.Policies[key] = _policies[key];
        }

        foreach (string model in models)
        {
            cache.Prices[model] = _prices[model];
        }
    }

    /// <summary>Whether the next batch should take the guarded path (it is not within a locking spell).</summary>
    public bool Guarded => Stopwatch.GetTimestamp() >= _lockingUntil;

    /// <summary>A batch left the guarded path (a guard failed, or a limit was near): the next ones lock, for a while.</summary>
    public void StartLocking() => _lockingUntil = Stopwatch.GetTimestamp() + LockingSpell;

    public LedgerCounters.Row Window(List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> changed, (string Scope, string Id, long Start) key)
    {
        var row = new LedgerCounters.Row(changed, key) { Unlocked = true };
        if (_windows.TryGetValue(key, out var seen))
        {
            row.Load(seen.A, seen.B, 0, 0);
        }

        return row;
    }

    public LedgerCounters.Row Budget(List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> changed, (string Scope, string Id, long Start) key)
    {
        var row = new LedgerCounters.Row(changed, key) { Unlocked = true };
        if (_budgets.TryGetValue(key, out var seen))
        {
            row.Load(seen.A, seen.B, seen.C, seen.D);
        }

        return row;
    }

    public void SeenWindow((string Scope, string Id, long Start) key, long requests, long tokens)
    {
        Trim();
        _windows[key] = (requests, tokens);
    }

    public void SeenBudget((string Scope, string Id, long Start) key, long spentCost, long reservedCost, long spentTokens, long reservedTokens)
    {
        Trim();
        _budgets[key] = (spentCost, reservedCost, spentTokens, reservedTokens);
    }

    /// <summary>A row the database did not have when the batch wrote to it.</summary>
    public void ForgetWindow((string Scope, string Id, long Start) key) => _windows.Remove(key);

    public void ForgetBudget((string Scope, string Id, long Start) key) => _budgets.Remove(key);

    /// <summary>After a commit that read them: the policies and prices its commands used.</summary>
    public void SeenReads(LedgerBatchCache cache)
    {
        if (_policies.Count + cache.Policies.Count > MaxRows)
        {
            _policies.Clear();
        }

        foreach (var (key, policy) in cache.Policies)
        {
            _policies[key] = policy;
        }

        foreach (var (model, price) in cache.Prices)
        {
            _prices[model] = price;
        }
    }

    /// <summary>After a commit on the locking path: the rows as it left them, exact (it held their locks).</summary>
    public void SeenLocked(LedgerBatchCache cache)
    {
        foreach (var (key, row) in cache.Windows)
        {
            if (row.Exists)
            {
                SeenWindow(key, row.A, row.B);
            }
            else
            {
                _windows.Remove(key);
            }
        }

        foreach (var (key, row) in cache.Budgets)
        {
            if (row.Exists)
            {
                SeenBudget(key, row.A, row.B, row.C, row.D);
            }
            else
            {
                _budgets.Remove(key);
            }
        }
    }

    /// <summary>A batch that relied on the policies and prices found them changed: read them again.</summary>
    public void ForgetReads()
    {
        _policies.Clear();
        _prices.Clear();
    }

    private void Trim()
    {
        if (_windows.Count + _budgets.Count >= MaxRows)
        {
            _windows.Clear();
            _budgets.Clear();
        }
    }
}
