using System.Data;
using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Serverless.Core.Metering;

/// <summary>
/// One operation of the ledger's write path. Commands run inside a shared transaction (group commit), so
/// they must not throw for business outcomes (a budget that does not fit, a duplicate): they record the
/// outcome and let the batch commit. An exception fails the whole batch.
/// </summary>
internal abstract class LedgerCommand
{
    /// <summary>
    /// Whether the transaction carrying this command must be fsynced before it completes (SQLite synchronous=FULL).
    /// Only a command whose effect nobody sees before a later synced commit may say no.
    /// </summary>
    public virtual bool NeedsSync => true;

    /// <summary>
    /// PostgreSQL: names the rows <see cref="Execute"/> will read or change, so the batch locks and reads them all in
    /// one round trip before any command runs (<see cref="PostgresPrefetch"/>). A row not named here still works,
    /// at the cost of a round trip of its own.
    /// </summary>
    public virtual void Declare(PostgresPrefetch prefetch)
    {
    }

    /// <summary>
    /// PostgreSQL: whether the command can run on what the writer last saw (<see cref="PostgresHints"/>) instead of on a
    /// first round trip's reads: everything it reads is declared and checked in the batch's only round trip
    /// (<see cref="LedgerBatch.OneRoundTrip"/>), and it reads nothing back while it runs.
    /// </summary>
    public virtual bool CanRunOnHints(PostgresHints hints) => false;

    public abstract void Execute(LedgerBatch batch);

    public abstract void Complete();

    public abstract void Fail(Exception exception);
}

internal abstract class LedgerCommand<TResult> : LedgerCommand
{
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> Completion => _completion.Task;

    protected TResult? Result { get; set; }

    public override void Complete() => _completion.TrySetResult(Result!);

    public override void Fail(Exception exception) => _completion.TrySetException(exception);
}

/// <summary>
/// The open transaction a batch of commands runs in. Commands are prepared once per connection and reused by
/// every batch on it, so the hot path does not parse SQL per request.
/// </summary>
internal sealed class LedgerBatch(
    DbConnection connection, DbTransaction? transaction, Dictionary<string, DbCommand> commands, LedgerBatchCache cache,
    LedgerStatements? statements = null, int commandTimeoutSeconds = 30)
{
    private readonly SqliteConnection? _sqlite = statements is null ? null : connection as SqliteConnection;

    private readonly NpgsqlConnection? _postgres = connection as NpgsqlConnection;

    private PostgresWrites? _writes;

    private readonly Dictionary<string, DbCommand> _commands = commands;

    // PostgreSQL: the transaction is opened and committed with SQL, so that BEGIN rides on the batch's first round
    // trip and COMMIT on its last (see Commit): a batch is two round trips, not four.
    private bool _begun;

    /// <summary>PostgreSQL, where every statement is a round trip (SQLite runs in process).</summary>
    public bool IsPostgres => _postgres is not null;

    /// <summary>
    /// PostgreSQL: the batch reads and locks no rate window or budget before its commands run; they start from the
    /// writer's <see cref="Hints"/>, and the batch writes what it added to each row as a guarded increment
    /// (<see cref="PostgresWrites"/>). False: the locking path, where the commands decide on rows locked up front.
    /// </summary>
    public bool Guarded { get; init; }

    /// <summary>PostgreSQL: what the writer last saw (<see cref="Guarded"/>, <see cref="OneRoundTrip"/>).</summary>
    public PostgresHints? Hints { get; init; }

    /// <summary>
    /// PostgreSQL, guarded: the batch has no reading round trip. Its commands run on the policies and prices the writer
    /// last saw and count the reservations they settle as deleted, and its only round trip checks all of that first
    /// (<see cref="PostgresPrefetch"/>), then writes and commits; a difference rolls it back before the COMMIT.
    /// </summary>
    public bool OneRoundTrip { get; init; }

    /// <summary>
    /// The guarded path: a command refused a request on the counters' values, which were only the writer's hints, so
    /// the batch must run again on the locking path, where such a decision is exact.
    /// </summary>
    public bool NeedsLocks { get; set; }

    /// <summary>PostgreSQL: whether the batch's transaction has been opened (a statement was sent).</summary>
    public bool Begun => _begun;

    /// <summary>
    /// PostgreSQL: the writes of the batch nobody reads back, sent together (one round trip) before the next statement
    /// that reads, or before the commit. Null on SQLite, where every statement runs at once.
    /// </summary>
    public PostgresWrites? Writes => _postgres is null ? null : _writes ??= new PostgresWrites();

    /// <summary>
    /// PostgreSQL: the reservations the batch's settlements named (<see cref="PostgresPrefetch.Settle"/>), by request
    /// id and holder: true once deleted up front and not yet billed, false if there was none to delete (or it was billed).
    /// </summary>
    public Dictionary<(string RequestId, string Holder), bool> Settling { get; } = [];

    /// <summary>PostgreSQL: a round trip of statements on the batch's transaction (the first one opens it).</summary>
    internal NpgsqlBatch NewBatch()
    {
        var round = new NpgsqlBatch(_postgres!) { Timeout = commandTimeoutSeconds };
        if (!_begun)
        {
            round.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
            _begun = true;
        }

        return round;
    }

    /// <summary>
    /// PostgreSQL: sends the batch's waiting writes and COMMIT in one round trip. It returns once the server has
    /// committed (synchronous_commit: durably); if any statement fails, the server skips the rest, COMMIT included,
    /// and this throws with the transaction left to be rolled back.
    /// </summary>
    public void Commit()
    {
        if (!_begun && _writes is not { IsEmpty: false })
        {
            return;
        }

        var writes = _writes ?? new PostgresWrites();
        _writes = null;
        writes.Send(this, commit: true);
    }

    /// <summary>Runs a statement whose result nobody reads: on PostgreSQL with the batch's other writes, on SQLite now.</summary>
    public void Write(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (Writes is { } writes)
        {
            writes.Add(sql, parameters);
        }
        else
        {
            Execute(sql, parameters);
        }
    }

    /// <summary>PostgreSQL: sends the writes waiting in <see cref="Writes"/> (one round trip), so what follows reads them.</summary>
    public void SendWrites()
    {
        if (_writes is { IsEmpty: false } writes)
        {
            _writes = null;
            writes.Send(this);
        }
    }

    /// <summary>Rows read once and reused by the batch's other commands (and on SQLite by later batches).</summary>
    public LedgerBatchCache Cache => cache;

    private LedgerCounters? _counters;

    /// <summary>SQLite only: the rate windows and budgets of the transaction, written by <see cref="Flush"/>.</summary>
    public LedgerCounters Counters => _counters ??= new LedgerCounters(this, cache);

    /// <summary>Writes what the commands left in memory; the writer calls it once, before the commit.</summary>
    public void Flush()
    {
        // On PostgreSQL the prefetch may have created rows (see PostgresPrefetch) that the counters must write or remove;
        // the writes go with the COMMIT (see Commit).
        if (IsPostgres)
        {
            Counters.Flush();
        }
        else
        {
            _counters?.Flush();
        }
    }

    /// <summary>A statement to run now (its result is read): on PostgreSQL the batch's waiting writes go first.</summary>
    public DbCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        SendWrites();
        if (_postgres is not null && !_begun)
        {
            using var begin = new NpgsqlCommand("BEGIN", _postgres);
            begin.ExecuteNonQuery();
            _begun = true;
        }
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            command.CommandTimeout = commandTimeoutSeconds;
            _commands[sql] = command;
        }

        command.Transaction = transaction;

        // The parameter objects are made once per command and then only given new values: a statement runs
        // thousands of times a second, always with the same names in the same order.
        var list = command.Parameters;
        if (!SameNames(list, parameters))
        {
            list.Clear();
            foreach (var (name, _) in parameters)
            {
                var created = command.CreateParameter();
                created.ParameterName = name;
                list.Add(created);
            }
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            var parameter = list[i];
            object? value = parameters[i].Value;
            if (value is null)
            {
                // A typed null would be wrong for some column on PostgreSQL; untyped, the server infers it.
                parameter.ResetDbType();
                parameter.Value = DBNull.Value;
            }
            else
            {
                parameter.DbType = value switch
                {
                    string => DbType.String,
                    int => DbType.Int32,
                    bool => DbType.Boolean,
                    _ => DbType.Int64,
                };
                parameter.Value = value;
            }
        }

        return command;
    }

    private static bool SameNames(DbParameterCollection list, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (list.Count != parameters.Length)
        {
            return false;
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            if (!ReferenceEquals(list[i].ParameterName, parameters[i].Name) && list[i].ParameterName != parameters[i].Name)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Runs a statement that returns no rows; the number of rows it changed.</summary>
    public int Execute(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) =>
        _sqlite is not null && LedgerStatements.CanBind(parameters)
            ? (int)statements!.Run(_sqlite, sql, parameters)
            : Command(sql, parameters).ExecuteNonQuery();

    /// <summary>Runs a statement and returns the first column of its first row as a number (0 without a row).</summary>
    public long ExecuteInt64(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters) =>
        _sqlite is not null && LedgerStatements.CanBind(parameters)
            ? statements!.Run(_sqlite, sql, parameters, scalar: true)
            : Command(sql, parameters).ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
}
