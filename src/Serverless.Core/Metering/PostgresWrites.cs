using Npgsql;

namespace Serverless.Core.Metering;

/// <summary>
/// PostgreSQL: what a batch of ledger commands writes without reading it back, gathered while the commands run and
/// sent in one round trip (<see cref="LedgerBatch.SendWrites"/>): the records, reservations and counters of the whole
/// batch as one statement per table over array parameters (<c>unnest</c>), then the other statements in the order
/// the commands wrote them. Every row these statements change was locked by <see cref="PostgresPrefetch"/> (or is
/// new), so what the commands decided in memory is what gets written.
/// </summary>
internal sealed class PostgresWrites
{
    private readonly List<(string Sql, (string Name, object? Value)[] Parameters)> _statements = [];
    private readonly List<Reservation> _reservations = [];
    private readonly List<UsageRow> _records = [];
    private readonly List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> _windows = [];
    private readonly List<(string Scope, string Id, long Start)> _unusedWindows = [];
    private readonly List<((string Scope, string Id, long Start) Key, LedgerCounters.Row Row)> _budgets = [];
    private readonly List<(string Scope, string Id, long Start)> _unusedBudgets = [];

    public bool IsEmpty =>
        _statements.Count == 0 && _reservations.Count == 0 && _records.Count == 0
        && _windows.Count == 0 && _unusedWindows.Count == 0 && _budgets.Count == 0 && _unusedBudgets.Count == 0;

    public void Add(string sql, ReadOnlySpan<(string Name, object? Value)> parameters) => _statements.Add((sql, parameters.ToArray()));

    public void InsertReservation(Reservation reservation) => _reservations.Add(reservation);

    /// <summary>A usage record, and its export outbox row if it billed any tokens.</summary>
    public void InsertUsage(UsageRow record) => _records.Add(record);

    /// <summary>A rate window's new counts; the row exists (the prefetch locked or created it).</summary>
    public void UpdateWindow((string Scope, string Id, long Start) key, LedgerCounters.Row row) => _windows.Add((key, row));

    /// <summary>A row the prefetch created that nothing used: it goes, so a refused request leaves no trace.</summary>
    public void DeleteWindow((string Scope, string Id, long Start) key) => _unusedWindows.Add(key);

    public void UpdateBudget((string Scope, string Id, long Start) key, LedgerCounters.Row row) => _budgets.Add((key, row));

    public void DeleteBudget((string Scope, string Id, long Start) key) => _unusedBudgets.Add(key);

    public void Send(LedgerBatch batch, bool commit = false)
    {
        using var round = batch.NewBatch();
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

        if (commit)
        {
            round.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        }

        round.ExecuteNonQuery();
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
