using Npgsql;

namespace Serverless.Core.Metering;

/// <summary>
/// PostgreSQL: what a batch of ledger commands writes without reading it back, gathered while the commands run and
/// sent in one round trip (<see cref="LedgerBatch.SendWrites"/>): the records, reservations and counters of the whole
/// batch as one statement per table over array parameters (<c>unnest</c>), then the other statements in the order
/// the commands wrote them. On the locking path every counter row these statements change was locked by
/// <see cref="PostgresPrefetch"/> (or is new), so what the commands decided in memory is what gets written. On the
/// guarded path the counters go last, just before the COMMIT, so the rows other instances also change stay locked only
/// from there to the commit: the rows admissions need created where missing, then each row's net change added under
/// its guard (<see cref="LedgerSql.GuardWindows"/>); if a guard fails, this throws <see cref="LedgerGuardFailedException"/>
/// with nothing committed.
/// </summary>
internal sealed class PostgresWrites
{
    private readonly List<(string Sql, (string Name, object? Value)[] Parameters)> _checks = [];
    private readonly List<(string Sql, (string Name, object? Value)[] Parameters)> _statements = [];
    private readonly List<Reservation> _reservations = [];
    private readonly List<UsageRow> _records = [];
    private readonly List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> _windows = [];
    private readonly List<(string Scope, string Id, long Start)> _unusedWindows = [];
    private readonly List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> _budgets = [];
    private readonly List<(string Scope, string Id, long Start)> _unusedBudgets = [];
    private readonly List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> _guardedWindows = [];
    private readonly List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> _guardedBudgets = [];

    public bool IsEmpty =>
        _checks.Count == 0 && _statements.Count == 0 && _reservations.Count == 0 && _records.Count == 0
        && _windows.Count == 0 && _unusedWindows.Count == 0 && _budgets.Count == 0 && _unusedBudgets.Count == 0
        && _guardedWindows.Count == 0 && _guardedBudgets.Count == 0;

    public void Add(string sql, ReadOnlySpan<(string Name, object? Value)> parameters) => _statements.Add((sql, parameters.ToArray()));

    /// <summary>
    /// The one-round-trip path: a statement that checks what the batch took from the writer's hints, run before every
    /// other one and failing (division by zero) on a difference (<see cref="LedgerSql.CheckPolicies"/>).
    /// </summary>
    public void Check(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) => _checks.Add((sql, parameters.ToArray()));

    public void InsertReservation(Reservation reservation) => _reservations.Add(reservation);

    /// <summary>A usage record, and its export outbox row if it billed any tokens.</summary>
    public void InsertUsage(UsageRow record) => _records.Add(record);

    /// <summary>A rate window's new counts; the row exists (the prefetch locked or created it).</summary>
    public void UpdateWindow((string Scope, string Id, long Start) key, LedgerCounters.Row row) => _windows.Add((key, row));

    /// <summary>A row the prefetch created that nothing used: it goes, so a refused request leaves no trace.</summary>
    public void DeleteWindow((string Scope, string Id, long Start) key) => _unusedWindows.Add(key);

    public void UpdateBudget((string Scope, string Id, long Start) key, LedgerCounters.Row row) => _budgets.Add((key, row));

    public void DeleteBudget((string Scope, string Id, long Start) key) => _unusedBudgets.Add(key);

    /// <summary>The guarded path: a rate window's net change in this batch, checked against its limits if admissions took from it.</summary>
    public void GuardWindow((string Scope, string Id, long Start) key, LedgerCounters.Row row) => _guardedWindows.Add((key, row));

    public void GuardBudget((string Scope, string Id, long Start) key, LedgerCounters.Row row) => _guardedBudgets.Add((key, row));

    public void Send(LedgerBatch batch, bool commit = false)
    {
        using var round = batch.NewBatch();
        foreach (var (sql, parameters) in _checks)
        {
            Add(round, sql, parameters);
        }

        if (_records.Count > 0)
        {
            Add(round, LedgerSql.InsertUsages,
                ("@requestIds", Column(_records, r => r.RequestId)), ("@keys", Column(_records, r => r.KeyId)), ("@customers", Column(_records, r => r.CustomerId)),
                ("@models", Column(_records, r => r.Model)), ("@prompts", Column(_records, r => r.Prompt)), ("@completions", Column(_records, r => r.Completion)),
                ("@priceVersions", Column(_records, r => r.PriceVersion)), ("@costs", Column(_records, r => r.Cost)), ("@starts", Column(_records, r => r.Started)),
                ("@ends", Column(_records, r => r.Ended)), ("@outcomes", Column(_records, r => r.Outcome)), ("@instances", Column(_records, r => r.InstanceId)),
                ("@batches", Column(_records, r => r.BatchId)));
        }

        if (_reservations.Count > 0)
        {
            Add(round, LedgerSql.InsertReservations,
                ("@requestIds", Column(_reservations, r => r.RequestId)), ("@keys", Column(_reservations, r => r.KeyId)),
                ("@customers", Column(_reservations, r => r.CustomerId)), ("@models", Column(_reservations, r => r.Model)),
                ("@instances", Column(_reservations, r => r.InstanceId)), ("@priceVersions", Column(_reservations, r => r.PriceVersion)),
                ("@inputs", Column(_reservations, r => r.InputMicroUsdPerMillion)), ("@outputs", Column(_reservations, r => r.OutputMicroUsdPerMillion)),
                ("@discounts", Column(_reservations, r => r.DiscountBasisPoints)), ("@prompts", Column(_reservations, r => r.PromptTokens)),
                ("@maxes", Column(_reservations, r => r.MaxTokens)), ("@reserved", Column(_reservations, r => r.ReservedMicroUsd)),
                ("@periods", Column(_reservations, r => r.PeriodStart.ToUnixTimeMilliseconds())),
                ("@windows", Column(_reservations, r => r.WindowStart.ToUnixTimeMilliseconds())),
                ("@starts", Column(_reservations, r => r.StartedAt.ToUnixTimeMilliseconds())), ("@batches", Column(_reservations, r => r.BatchId)));
        }

        if (_windows.Count > 0)
        {
            Add(round, LedgerSql.UpdateWindows,
                ("@scopes", Column(_windows, w => w.Key.Scope)), ("@ids", Column(_windows, w => w.Key.Id)), ("@starts", Column(_windows, w => w.Key.Start)),
                ("@requests", Column(_windows, w => w.Row.A)), ("@tokens", Column(_windows, w => w.Row.B)));
        }

        if (_unusedWindows.Count > 0)
        {
            Add(round, LedgerSql.DeleteWindows,
                ("@scopes", Column(_unusedWindows, w => w.Scope)), ("@ids", Column(_unusedWindows, w => w.Id)), ("@starts", Column(_unusedWindows, w => w.Start)));
        }

        if (_budgets.Count > 0)
        {
            Add(round, LedgerSql.UpdateBudgets,
                ("@scopes", Column(_budgets, b => b.Key.Scope)), ("@ids", Column(_budgets, b => b.Key.Id)), ("@starts", Column(_budgets, b => b.Key.Start)),
                ("@spentCosts", Column(_budgets, b => b.Row.A)), ("@reservedCosts", Column(_budgets, b => b.Row.B)),
                ("@spentTokens", Column(_budgets, b => b.Row.C)), ("@reservedTokens", Column(_budgets, b => b.Row.D)));
        }

        if (_unusedBudgets.Count > 0)
        {
            Add(round, LedgerSql.DeleteBudgets,
                ("@scopes", Column(_unusedBudgets, b => b.Scope)), ("@ids", Column(_unusedBudgets, b => b.Id)), ("@starts", Column(_unusedBudgets, b => b.Start)));
        }

        foreach (var (sql, parameters) in _statements)
        {
            Add(round, sql, parameters);
        }

        var guards = AddGuards(round);
        if (commit)
        {
            round.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        }

        try
        {
            if (guards.Windows is null && guards.Budgets is null)
            {
                round.ExecuteNonQuery();
            }
            else
            {
                ReadGuarded(round, batch.Hints!);
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DivisionByZero && (_checks.Count > 0 || guards.Windows is not null || guards.Budgets is not null))
        {
            // Only the guards and checks divide (no other ledger statement does; Npgsql does not say which statement of
            // a batch failed when the error comes while reading on).
            throw new LedgerGuardFailedException(ex);
        }
    }

    // Windows before budgets, and in each table the rows admissions need created (in key order) before any is changed:
    // the order every writer takes these locks in (see LedgerSql.LockWindows).
    private (NpgsqlBatchCommand? Windows, NpgsqlBatchCommand? Budgets) AddGuards(NpgsqlBatch round)
    {
        NpgsqlBatchCommand? windows = null;
        NpgsqlBatchCommand? budgets = null;
        if (_guardedWindows.Count > 0)
        {
            AddCreates(round, LedgerSql.CreateWindows, _guardedWindows);
            windows = Add(round, LedgerSql.GuardWindows,
                ("@scopes", Column(_guardedWindows, w => w.Key.Scope)), ("@ids", Column(_guardedWindows, w => w.Key.Id)),
                ("@starts", Column(_guardedWindows, w => w.Key.Start)),
                ("@requests", Column(_guardedWindows, w => w.Row.A - w.Row.A0)), ("@tokens", Column(_guardedWindows, w => w.Row.B - w.Row.B0)),
                ("@guarded", Column(_guardedWindows, w => w.Row.Guarded)),
                ("@requestLimits", Column(_guardedWindows, w => w.Row.LimitA)), ("@tokenLimits", Column(_guardedWindows, w => w.Row.LimitB)),
                ("@guardedCount", (long)_guardedWindows.Count(w => w.Row.Guarded)));
        }

        if (_guardedBudgets.Count > 0)
        {
            AddCreates(round, LedgerSql.CreateBudgets, _guardedBudgets);
            budgets = Add(round, LedgerSql.GuardBudgets,
                ("@scopes", Column(_guardedBudgets, b => b.Key.Scope)), ("@ids", Column(_guardedBudgets, b => b.Key.Id)),
                ("@starts", Column(_guardedBudgets, b => b.Key.Start)),
                ("@spentCosts", Column(_guardedBudgets, b => b.Row.A - b.Row.A0)), ("@reservedCosts", Column(_guardedBudgets, b => b.Row.B - b.Row.B0)),
                ("@spentTokens", Column(_guardedBudgets, b => b.Row.C - b.Row.C0)), ("@reservedTokens", Column(_guardedBudgets, b => b.Row.D - b.Row.D0)),
                ("@guarded", Column(_guardedBudgets, b => b.Row.Guarded)),
                ("@costLimits", Column(_guardedBudgets, b => b.Row.LimitA)), ("@tokenLimits", Column(_guardedBudgets, b => b.Row.LimitB)),
                ("@guardedCount", (long)_guardedBudgets.Count(b => b.Row.Guarded)));
        }

        return (windows, budgets);
    }

    // The rows admissions took from that this writer has not seen in the database: created empty if missing. A row only
    // settlements gave back to is not created (it is changed only if it exists).
    private static void AddCreates(NpgsqlBatch round, string sql, List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> rows)
    {
        var missing = rows.FindAll(r => r.Row.Guarded && !r.Row.Loaded);
        if (missing.Count > 0)
        {
            Add(round, sql,
                ("@scopes", Column(missing, r => r.Key.Scope)), ("@ids", Column(missing, r => r.Key.Id)), ("@starts", Column(missing, r => r.Key.Start)));
        }
    }

    // The round trip with guarded increments: the rows they changed come back (by their position in the arrays sent)
    // with their values, which become the writer's hints and correct the batch's rate-limit headers; all of it only
    // once the whole round trip, COMMIT included, has succeeded.
    private void ReadGuarded(NpgsqlBatch round, PostgresHints hints)
    {
        var windows = new (long A, long B)?[_guardedWindows.Count];
        var budgets = new (long A, long B, long C, long D)?[_guardedBudgets.Count];
        using (var reader = round.ExecuteReader())
        {
            do
            {
                // The guards' results: windows (4 columns) before budgets (6); the checks' single column and the
                // creates' RETURNING lists are skipped.
                if (reader.FieldCount == 4 && windows.Length > 0)
                {
                    while (reader.Read())
                    {
                        if (!reader.IsDBNull(0))
                        {
                            windows[reader.GetInt64(0) - 1] = (reader.GetInt64(1), reader.GetInt64(2));
                        }
                    }
                }
                else if (reader.FieldCount == 6)
                {
                    while (reader.Read())
                    {
                        if (!reader.IsDBNull(0))
                        {
                            budgets[reader.GetInt64(0) - 1] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
                        }
                    }
                }
            }
            while (reader.NextResult());
        }

        for (int i = 0; i < windows.Length; i++)
        {
            var (key, row) = _guardedWindows[i];
            if (windows[i] is var (a, b))
            {
                row.Offset = (a - row.A, b - row.B);
                hints.SeenWindow(key, a, b);
            }
            else
            {
                hints.ForgetWindow(key);
            }
        }

        for (int i = 0; i < budgets.Length; i++)
        {
            var key = _guardedBudgets[i].Key;
            if (budgets[i] is var (a, b, c, d))
            {
                hints.SeenBudget(key, a, b, c, d);
            }
            else
            {
                hints.ForgetBudget(key);
            }
        }
    }

    private static T[] Column<TRow, T>(List<TRow> rows, Func<TRow, T> value)
    {
        var column = new T[rows.Count];
        for (int i = 0; i < column.Length; i++)
        {
            column[i] = value(rows[i]);
        }

        return column;
    }

    internal static NpgsqlBatchCommand Add(NpgsqlBatch round, string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
        }

        round.BatchCommands.Add(command);
        return command;
    }
}

/// <summary>The columns of a usage record the write path sets.</summary>
internal readonly record struct UsageRow(
    string RequestId, string KeyId, string CustomerId, string Model, long Prompt, long Completion, long PriceVersion, long Cost,
    long Started, long Ended, string Outcome, string InstanceId, string? BatchId);
