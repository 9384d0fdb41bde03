using System.Diagnostics;

namespace Serverless.Core.Metering;

/// <summary>
/// PostgreSQL: the rate windows and budgets as this writer last saw them in the database (after each of its commits),
/// the starting point of a batch on the guarded path (<see cref="LedgerBatch.Guarded"/>), which reads and locks nothing
/// before its commands run. Only ever a hint: other instances change the rows all the time, and the increments the
/// batch writes re-check every limit on the rows as they are (<see cref="LedgerSql.GuardWindows"/>). What the hints
/// decide is the path, and how far the rate-limit headers computed before the commit are off (they are corrected from
/// the values the increments return). Held by the writer, used by its thread only.
/// </summary>
internal sealed class PostgresCounterHints
{
    // Rate windows are per minute: without a bound, a long-running writer would keep every past window.
    private const int MaxRows = 100_000;

    // How long the writer stays on the locking path after a batch left the guarded one: near a limit, where guards
    // fail, every batch would otherwise be written twice. A performance matter, not the service's time: the monotonic
    // clock, not TimeProvider.
    private static readonly long LockingSpell = Stopwatch.Frequency;

    private readonly Dictionary<(string Scope, string Id, long Start), (long A, long B)> _windows = [];
    private readonly Dictionary<(string Scope, string Id, long Start), (long A, long B, long C, long D)> _budgets = [];
    private long _lockingUntil = long.MinValue;

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

    /// <summary>Everything: after a failure, nothing seen in the failed transaction is known to have been committed.</summary>
    public void Clear()
    {
        _windows.Clear();
        _budgets.Clear();
    }

    private void Trim()
    {
        if (_windows.Count + _budgets.Count >= MaxRows)
        {
            Clear();
        }
    }
}
