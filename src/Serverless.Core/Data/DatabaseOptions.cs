namespace Serverless.Core.Data;

/// <summary>Where the service keeps its relational data (keys, customers, later the ledger).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public const string SqliteProvider = "Sqlite";

    /// <summary>Only "Sqlite" today; PostgreSQL arrives with the ledger work.</summary>
    public string Provider { get; set; } = SqliteProvider;

    public string ConnectionString { get; set; } = "Data Source=.local/serverless.db";

    /// <summary>
    /// How long a SQLite connection waits for another writer's lock before failing with SQLITE_BUSY.
    /// Several host processes (serve + admin CLI) may share one file.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
