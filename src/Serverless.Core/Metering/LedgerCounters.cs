namespace Serverless.Core.Metering;

/// <summary>
/// The rate windows and budgets a transaction touches: a row is read once (on SQLite kept by the writer for later
/// transactions, see <see cref="LedgerBatchCache"/>), changed in memory by every command of the batch in turn and
/// written once before the commit. A request used to update four of these rows with a conditional statement each;
/// now the decisions are made in memory and a batch writes each row it changed once.
/// Exact only because nothing else can change a row between its read and the commit: on SQLite the transaction holds
/// the write lock from its first statement (BEGIN IMMEDIATE); on PostgreSQL's locking path the batch locked every row
/// it uses before its first command ran (<see cref="PostgresPrefetch"/>). On PostgreSQL's guarded path nothing is read
/// or locked: a row starts from the writer's last-known values (<see cref="PostgresHints"/>), and what the batch
/// added to it is written as an increment whose guard re-checks the limits on the row as it is (<see cref="PostgresWrites"/>).
/// </summary>
internal sealed class LedgerCounters(LedgerBatch batch, LedgerBatchCache cache)
{
    private readonly Dictionary<(string Scope, string Id, long Start), Row> _windows = cache.Windows;
    private readonly Dictionary<(string Scope, string Id, long Start), Row> _budgets = cache.Budgets;
    private readonly List<((string Scope, string Id, long Start) Key, Row Row)> _changedWindows = cache.ChangedWindows;
    private readonly List<((string Scope, string Id, long Start) Key, Row Row)> _changedBudgets = cache.ChangedBudgets;

    /// <summary>A rate window row (Requests in <see cref="Row.A"/>, Tokens in <see cref="Row.B"/>), read on first use.</summary>
    public Row Window(string scope, string id, long windowStart)
    {
        if (!_windows.TryGetValue((scope, id, windowStart), out var counter) && batch.Guarded)
        {
            counter = batch.Hints!.Window(_changedWindows, (scope, id, windowStart));
            _windows[(scope, id, windowStart)] = counter;
        }
        else if (counter is null && batch.IsPostgres)
        {
            // Not named by its command: locked and read now, in a round trip of its own.
            var prefetch = new PostgresPrefetch();
            prefetch.Window(scope, id, windowStart);
            prefetch.Run(batch);
            counter = _windows[(scope, id, windowStart)];
        }

        if (counter is null)
        {
            counter = new Row(_changedWindows, (scope, id, windowStart));
            using var reader = batch.Command(LedgerSql.ReadWindow, ("@scope", scope), ("@id", id), ("@window", windowStart)).ExecuteReader();
            if (reader.Read())
            {
                counter.Load(reader.GetInt64(0), reader.GetInt64(1), 0, 0);
            }

            _windows[(scope, id, windowStart)] = counter;
        }

        return counter;
    }

    /// <summary>A budget row (spent and reserved micro-USD in A and B, spent and reserved tokens in C and D), read on first use.</summary>
    public Row Budget(string scope, string id, long periodStart)
    {
        if (!_budgets.TryGetValue((scope, id, periodStart), out var counter) && batch.Guarded)
        {
            counter = batch.Hints!.Budget(_changedBudgets, (scope, id, periodStart));
            _budgets[(scope, id, periodStart)] = counter;
        }
        else if (counter is null && batch.IsPostgres)
        {
            var prefetch = new PostgresPrefetch();
            prefetch.Budget(scope, id, periodStart);
            prefetch.Run(batch);
            counter = _budgets[(scope, id, periodStart)];
        }

        if (counter is null)
        {
            counter = new Row(_changedBudgets, (scope, id, periodStart));
            using var reader = batch.Command(LedgerSql.ReadBudget, ("@scope", scope), ("@id", id), ("@period", periodStart)).ExecuteReader();
            if (reader.Read())
            {
                counter.Load(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            }

            _budgets[(scope, id, periodStart)] = counter;
        }

        return counter;
    }

    /// <summary>Writes every row a command changed: once per row and transaction, however many requests changed it.</summary>
    public void Flush()
    {
        if (batch.Writes is { } writes)
        {
            FlushToPostgres(writes);
            return;
        }

        foreach (var ((scope, id, start), row) in _changedWindows)
        {
            batch.Execute(LedgerSql.WriteWindow, ("@scope", scope), ("@id", id), ("@window", start), ("@requests", row.A), ("@tokens", row.B));
            row.Changed = false;
        }

        foreach (var ((scope, id, start), row) in _changedBudgets)
        {
            batch.Execute(
                LedgerSql.WriteBudget, ("@scope", scope), ("@id", id), ("@period", start),
                ("@spentCost", row.A), ("@reservedCost", row.B), ("@spentTokens", row.C), ("@reservedTokens", row.D));
            row.Changed = false;
        }

        _changedWindows.Clear();
        _changedBudgets.Clear();
    }

    /// <summary>
    /// PostgreSQL's guarded path: whether a row the batch took from would come within one more batch's worth of its
    /// limits (last-known value plus twice what this batch adds), where another writer's concurrent batch could make the
    /// guard fail. The batch then goes to the locking path before it writes anything.
    /// </summary>
    public bool NearLimits()
    {
        foreach (var (_, row) in _changedWindows)
        {
            if (row.Guarded && (Over(row.A, row.A - row.A0, row.LimitA) || Over(row.B, row.B - row.B0, row.LimitB)))
            {
                return true;
            }
        }

        foreach (var (_, row) in _changedBudgets)
        {
            if (row.Guarded && (Over(row.A + row.B, row.A + row.B - row.A0 - row.B0, row.LimitA) || Over(row.C + row.D, row.C + row.D - row.C0 - row.D0, row.LimitB)))
            {
                return true;
            }
        }

        return false;

        // A negative limit is none; the subtraction cannot overflow where the addition could (limits near long.MaxValue).
        static bool Over(long value, long added, long limit) => limit >= 0 && added > 0 && value > limit - added;
    }

    // Every row here is this transaction's (the cache starts empty on PostgreSQL). On the locking path it exists in the
    // database, locked: the changed ones are updated, and those the prefetch created but nothing used are removed again.
    // On the guarded path the changed ones get their increments (the database creates what admissions need first).
    private void FlushToPostgres(PostgresWrites writes)
    {
        if (batch.Guarded)
        {
            foreach (var (key, row) in _changedWindows)
            {
                writes.GuardWindow(key, row);
                row.Changed = false;
            }

            foreach (var (key, row) in _changedBudgets)
            {
                writes.GuardBudget(key, row);
                row.Changed = false;
            }

            _changedWindows.Clear();
            _changedBudgets.Clear();
            return;
        }

        foreach (var (key, row) in _changedWindows)
        {
            writes.UpdateWindow(key, row);
            row.Changed = false;
        }

        foreach (var (key, row) in _changedBudgets)
        {
            writes.UpdateBudget(key, row);
            row.Changed = false;
        }

        foreach (var (key, row) in _windows)
        {
            if (row.Created && !row.Exists)
            {
                writes.DeleteWindow(key);
            }
        }

        foreach (var (key, row) in _budgets)
        {
            if (row.Created && !row.Exists)
            {
                writes.DeleteBudget(key);
            }
        }

        _changedWindows.Clear();
        _changedBudgets.Clear();
    }

    /// <summary>A row of counters as the transaction sees it; <see cref="Exists"/> false is a row nobody created yet (all zero).</summary>
    internal sealed class Row
    {
        private readonly List<((string Scope, string Id, long Start) Key, Row Row)> _changed;
        private readonly (string Scope, string Id, long Start) _key;

        public Row(List<((string Scope, string Id, long Start) Key, Row Row)> changed, (string Scope, string Id, long Start) key)
        {
            _changed = changed;
            _key = key;
        }

        public long A { get; private set; }

        public long B { get; private set; }

        public long C { get; private set; }

        public long D { get; private set; }

        /// <summary>The values the transaction started from (<see cref="Load"/>): what it added is the difference.</summary>
        public long A0 { get; private set; }

        public long B0 { get; private set; }

        public long C0 { get; private set; }

        public long D0 { get; private set; }

        public bool Exists { get; private set; }

        /// <summary>Whether <see cref="Load"/> gave the row values (read, or on the guarded path last seen in the database).</summary>
        public bool Loaded { get; private set; }

        public bool Changed { get; set; }

        /// <summary>PostgreSQL: created empty by this transaction only to lock it (<see cref="PostgresPrefetch"/>); it counts as not existing until added to.</summary>
        public bool Created { get; set; }

        /// <summary>
        /// PostgreSQL's guarded path: the values are the writer's last-known ones, not read under a lock, so whether the row
        /// exists is for the database to say when the increment runs (<see cref="AddIfExists"/> always counts).
        /// </summary>
        public bool Unlocked { get; init; }

        /// <summary>The guarded path: an admission took from the row, so its increment must keep it within <see cref="LimitA"/> and <see cref="LimitB"/>.</summary>
        public bool Guarded { get; private set; }

        /// <summary>A window's requests per minute, or a budget's spend cap (negative: none).</summary>
        public long LimitA { get; private set; }

        /// <summary>A window's tokens per minute, or a budget's token cap (negative: none).</summary>
        public long LimitB { get; private set; }

        /// <summary>The guarded path, after the commit: the row's values in the database minus those the batch computed (other writers' share).</summary>
        public (long A, long B) Offset { get; set; }

        public void Load(long a, long b, long c, long d)
        {
            (A, B, C, D) = (a, b, c, d);
            (A0, B0, C0, D0) = (a, b, c, d);
            Exists = true;
            Loaded = true;
        }

        /// <summary>Adds to the row, creating it if it does not exist (as an upsert would).</summary>
        public void Add(long a, long b, long c = 0, long d = 0)
        {
            (A, B, C, D) = (A + a, B + b, C + c, D + d);
            Exists = true;
            if (!Changed)
            {
                Changed = true;
                _changed.Add((_key, this));
            }
        }

        /// <summary>Adds to the row only if it exists (as an UPDATE would).</summary>
        public void AddIfExists(long a, long b, long c = 0, long d = 0)
        {
            if (Exists || Unlocked)
            {
                Add(a, b, c, d);
            }
        }

        /// <summary>An admission took from the row under these limits (the row's policy: the same for every admission of the batch).</summary>
        public void Guard(long limitA, long limitB)
        {
            Guarded = true;
            (LimitA, LimitB) = (limitA, limitB);
        }
    }
}
