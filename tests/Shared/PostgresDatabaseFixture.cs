using Xunit;

namespace Serverless.Testing;

/// <summary>
/// An xunit class fixture (<c>IClassFixture&lt;PostgresDatabaseFixture&gt;</c>): one fresh database for all
/// tests of a class, created before the first and dropped after the last. Tests that need an empty database
/// each call <see cref="PostgresServer.CreateDatabaseAsync"/> instead.
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private PostgresDatabase? _database;

    public PostgresServer Server { get; private set; } = null!;

    public PostgresDatabase Database => _database ?? throw new InvalidOperationException("The fixture is not initialized.");

    public string ConnectionString => Database.ConnectionString;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.GetAsync();
        _database = await Server.CreateDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
