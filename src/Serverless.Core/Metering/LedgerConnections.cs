using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;

namespace Serverless.Core.Metering;

/// <summary>
/// Raw connections for the ledger's write path. The schema belongs to EF Core migrations; the hot path
/// writes with prepared SQL that runs unchanged on SQLite and PostgreSQL (quoted identifiers, @parameters,
/// ON CONFLICT, RETURNING, savepoints).
/// </summary>
public sealed class LedgerConnections(IOptions<DatabaseOptions> options)
{
    private readonly DatabaseOptions _options = options.Value;

    public bool IsSqlite => string.Equals(_options.Provider, DatabaseOptions.SqliteProvider, StringComparison.OrdinalIgnoreCase);

    /// <summary>An open connection for reads (reports); on SQLite in WAL mode readers never wait for the writer.</summary>
    public DbConnection OpenForReading()
    {
        if (!IsSqlite)
        {
            throw new NotSupportedException($"Database provider '{_options.Provider}' is not supported by the ledger.");
        }

        var connection = new SqliteConnection(_options.ConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>An open connection set up for durable writes: on SQLite, synchronous=FULL (every commit is fsynced).</summary>
    public DbConnection OpenForWriting()
    {
        if (!IsSqlite)
        {
            throw new NotSupportedException($"Database provider '{_options.Provider}' is not supported by the ledger.");
        }

        var connection = new SqliteConnection(_options.ConnectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA synchronous = FULL; PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds};";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
