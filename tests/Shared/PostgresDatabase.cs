using Npgsql;

namespace Serverless.Testing;

/// <summary>One test's own database on a <see cref="PostgresServer"/>; dropped on dispose.</summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly PostgresServer _server;

    internal PostgresDatabase(PostgresServer server, string name, string connectionString)
    {
        _server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    /// <summary>Superuser connection string to this database only.</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// Drops the database now, closing any connection still open to it (pooled ones included); later use
    /// fails as it would against a server that lost the database. Safe to call more than once.
    /// </summary>
    public async Task DropAsync(CancellationToken cancellationToken = default)
    {
        using (var connection = new NpgsqlConnection(ConnectionString))
        {
            NpgsqlConnection.ClearPool(connection);
        }

        await _server.ExecuteAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", cancellationToken);
    }

    /// <summary>Whether the database exists (a test may drop it, or expect a migration to create it).</summary>
    public async Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(_server.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", Name);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async ValueTask DisposeAsync() => await DropAsync();
}
