using Serverless.Core.Data;

namespace Serverless.Core.Tests.Data;

/// <summary>
/// An empty database of one provider for one test, removed afterwards. Tests written against this run
/// unchanged on SQLite and PostgreSQL.
/// </summary>
internal abstract class TestDatabase : IAsyncDisposable
{
    /// <summary>The value for Database:Provider.</summary>
    public abstract string Provider { get; }

    public abstract string ConnectionString { get; }

    /// <summary>Creates a database of the given provider ("Sqlite" or "Postgres").</summary>
    public static async Task<TestDatabase> CreateAsync(string provider) => provider switch
    {
        DatabaseOptions.SqliteProvider => new SqliteTestDatabase(),
        DatabaseOptions.PostgresProvider => await PostgresTestDatabase.CreateAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown provider."),
    };

    /// <summary>
    /// Everything the database keeps, as text, for checks that a secret never reached storage: the raw
    /// file bytes for SQLite, every row of every table for PostgreSQL (whose files are the server's).
    /// </summary>
    public abstract Task<string> ReadStoredTextAsync();

    /// <summary>Removes the database now; any later access fails. Safe to call again (dispose does).</summary>
    public abstract Task DeleteAsync();

    public async ValueTask DisposeAsync() => await DeleteAsync();
}
