using System.ComponentModel.DataAnnotations;

namespace Serverless.Core.Data;

/// <summary>Where the service keeps its relational data (keys, customers, later the ledger).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public const string SqliteProvider = "Sqlite";

    public const string PostgresProvider = "Postgres";

    /// <summary>
    /// "Sqlite" (default: one file, fine for one host) or "Postgres" (several instances sharing one
    /// database). Case-insensitive. Both run the same migrations.
    /// </summary>
    public string Provider { get; set; } = SqliteProvider;

    /// <summary>
    /// A SQLite connection string ("Data Source=path") or an Npgsql one
    /// ("Host=...;Port=...;Database=...;Username=...;Password=...").
    /// </summary>
    public string ConnectionString { get; set; } = "Data Source=.local/serverless.db";

    /// <summary>
    /// The folder a relative SQLite Data Source is resolved against. Unset: the root of the checkout the app runs
    /// from (the nearest folder at or above the content root that holds Serverless.sln), so <c>./run.sh</c>, its admin
    /// commands and <c>func start</c> (whose working directory is the build output) all use the checkout's
    /// <c>.local/serverless.db</c>; outside a checkout (a deployed app), the content root.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>
    /// How long a SQLite connection waits for another writer's lock before failing with SQLITE_BUSY.
    /// Several host processes (serve + admin CLI) may share one file. Not used with PostgreSQL, whose
    /// writers wait on row locks anyway.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// PostgreSQL only: the most connections each pool of this instance opens (Npgsql's Maximum Pool Size, overriding
    /// the connection string's). An instance has two pools, the ledger writer's and the rest's, so it holds at most
    /// twice this; with N instances on one server, 2 × N × MaxPoolSize must stay under the server's max_connections
    /// (the Bicep sizes maximumInstanceCount that way). Unset: what the connection string says (Npgsql: 100).
    /// </summary>
    [Range(1, 1000)]
    public int? MaxPoolSize { get; set; }

    internal bool UsesPostgres => string.Equals(Provider, PostgresProvider, StringComparison.OrdinalIgnoreCase);

    internal bool UsesSqlite => string.Equals(Provider, SqliteProvider, StringComparison.OrdinalIgnoreCase);
}
