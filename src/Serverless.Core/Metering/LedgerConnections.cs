using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using Serverless.Core.Data;

namespace Serverless.Core.Metering;

/// <summary>
/// Raw connections for the ledger's write path and reports. The schema belongs to EF Core migrations; the hot
/// path writes with prepared SQL that runs unchanged on SQLite and PostgreSQL (quoted identifiers,
/// @parameters, ON CONFLICT, RETURNING, savepoints).
/// </summary>
public sealed class LedgerConnections : IDisposable
{
    private readonly DatabaseOptions _options;
    private readonly NpgsqlDataSource? _postgres;
    private readonly string _sqlite = string.Empty;

    public LedgerConnections(IOptions<DatabaseOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        if (_options.UsesPostgres)
        {
            // The write path runs the same dozen statements over and over: let Npgsql prepare them on the server
            // (parsed and planned once per connection, not per execution) unless the connection string says otherwise.
            var builder = new NpgsqlConnectionStringBuilder(_options.ConnectionString);
            if (builder.MaxAutoPrepare == 0)
            {
                builder.MaxAutoPrepare = 64;
                builder.AutoPrepareMinUsages = 2;
            }

            _postgres = NpgsqlDataSource.Create(builder.ConnectionString);
        }
        else
        {
            // Microsoft.Data.Sqlite retries a busy database until the command timeout; make that the busy timeout,
            // so a locked database fails a batch after BusyTimeout rather than after 30 s.
            _sqlite = new SqliteConnectionStringBuilder(_options.ConnectionString)
            {
                DefaultTimeout = Math.Max(1, (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds)),
            }.ToString();
        }
    }

    public bool IsSqlite => _postgres is null;

    /// <summary>How long one ledger statement may wait (for a lock, mostly) before its batch fails.</summary>
    public int CommandTimeoutSeconds => Math.Max(1, (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds));

    /// <summary>
    /// Failures worth retrying the whole batch for: PostgreSQL deadlocks and serialization failures between
    /// instances whose batches touch the same customers in another order.
    /// </summary>
    public static bool IsTransient(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure };

    /// <summary>An open connection for reads (reports); on SQLite in WAL mode readers never wait for the writer.</summary>
    public DbConnection OpenForReading()
    {
        if (_postgres is not null)
        {
            return _postgres.OpenConnection();
        }

        var connection = new SqliteConnection(_sqlite);
        connection.Open();
        return connection;
    }

    /// <summary>
    /// An open connection set up for durable writes: on SQLite synchronous=FULL (every commit is fsynced); on
    /// PostgreSQL the server's synchronous_commit (on by default) does the same. On SQLite it does not checkpoint
    /// the WAL itself: whoever writes through it runs a <see cref="LedgerCheckpointer"/>.
    /// </summary>
    public DbConnection OpenForWriting()
    {
        if (_postgres is not null)
        {
            var writer = _postgres.OpenConnection();
            try
            {
                // The writer looks every row up by its key, in tables that churn (a reservation lives for one request,
                // a budget row gets a new version with every batch): their statistics soon count a few live rows in
                // many dead ones, and the planner would then scan them all (a hash join over a sequential scan) for a
                // batch's array of keys. Index lookups only, for this connection. And one plan per prepared statement:
                // with the server's default, a statement whose custom plans look cheaper than its generic one (the
                // prices' lookup) is planned again at every execution, ~0.3 ms a batch, for the same plan.
                using var settings = writer.CreateCommand();
                settings.CommandText = "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off; SET plan_cache_mode = force_generic_plan";
                settings.ExecuteNonQuery();
                return writer;
            }
            catch
            {
                writer.Dispose();
                throw;
            }
        }

        var connection = new SqliteConnection(_sqlite);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            // wal_autocheckpoint = 0: LedgerCheckpointer checkpoints beside the writer instead of inside its commits.
            // cache_size 64 MiB (default 2 MiB): the usage records' RequestId index takes random inserts, and with the
            // default cache most of them read their page back from the OS on a growing ledger.
            pragma.CommandText = $"PRAGMA synchronous = FULL; PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds}; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -65536;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A SQLite connection for checkpoints: it waits for the writer (busy timeout) when a checkpoint needs the write lock.</summary>
    internal DbConnection OpenForCheckpointing()
    {
        var connection = new SqliteConnection(_sqlite);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds};";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Dispose() => _postgres?.Dispose();
}
