namespace Serverless.Core.Metering;

/// <summary>
/// The rate windows and budgets one SQLite transaction touches, each row read once, changed in memory by every
/// command of the batch in turn and written once before the commit. Under load a batch holds hundreds of requests
/// of far fewer keys and customers, and every request used to update four of these rows with a statement each.
/// Exact only because the transaction holds SQLite's write lock from its first statement (BEGIN IMMEDIATE): nothing
/// else can change a row between its read and the commit. PostgreSQL, where other instances write concurrently,
/// keeps the conditional statements of <see cref="LedgerSql"/>.
/// </summary>
internal sealed class LedgerCounters(LedgerBatch batch)
{
    private readonly Dictionary<(string Scope, string Id, long Start), Row> _windows = [];
    private readonly Dictionary<(string Scope, string Id, long Start), Row> _budgets = [];

    /// <summary>A rate window row (Requests in <see cref="Row.A"/>, Tokens in <see cref="Row.B"/>), read on first use.</summary>
    public Row Window(string scope, string id, long windowStart)
    {
        if (!_windows.TryGetValue((scope, id, windowStart), out var counter))
        {
            counter = new Row();
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
        if (!_budgets.TryGetValue((scope, id, periodStart), out var counter))
        {
            counter = new Row();
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
        foreach (var ((scope, id, start), counter) in _windows)
        {
            if (counter.Changed)
            {
                batch.Execute(LedgerSql.WriteWindow, ("@scope", scope), ("@id", id), ("@window", start), ("@requests", counter.A), ("@tokens", counter.B));
                counter.Changed = false;
            }
        }

        foreach (var ((scope, id, start), counter) in _budgets)
        {
            if (counter.Changed)
            {
                batch.Execute(
                    LedgerSql.WriteBudget, ("@scope", scope), ("@id", id), ("@period", start),
                    ("@spentCost", counter.A), ("@reservedCost", counter.B), ("@spentTokens", counter.C), ("@reservedTokens", counter.D));
                counter.Changed = false;
            }
        }
    }

    /// <summary>A row of counters as the transaction sees it; <see cref="Exists"/> false is a row nobody created yet (all zero).</summary>
    internal sealed class Row
    {
        public long A { get; private set; }

        public long B { get; private set; }

        public long C { get; private set; }

        public long D { get; private set; }

        public bool Exists { get; private set; }

        public bool Changed { get; set; }

        public void Load(long a, long b, long c, long d)
        {
            (A, B, C, D) = (a, b, c, d);
            Exists = true;
        }

        /// <summary>Adds to the row, creating it if it does not exist (as an upsert would).</summary>
        public void Add(long a, long b, long c = 0, long d = 0)
        {
            (A, B, C, D) = (A + a, B + b, C + c, D + d);
            Exists = true;
            Changed = true;
        }

        /// <summary>Adds to the row only if it exists (as an UPDATE would).</summary>
        public void AddIfExists(long a, long b, long c = 0, long d = 0)
        {
            if (Exists)
            {
                Add(a, b, c, d);
            }
        }
    }
}
