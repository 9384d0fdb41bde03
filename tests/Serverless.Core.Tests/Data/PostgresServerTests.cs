using Npgsql;
using Serverless.Testing;

namespace Serverless.Core.Tests.Data;

/// <summary>The shared PostgreSQL test server (tests/Shared) behaves as the database tests assume.</summary>
public sealed class PostgresServerTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task Each_database_starts_empty_and_is_dropped_on_dispose()
    {
        var server = await PostgresServer.GetAsync();
        var database = await server.CreateDatabaseAsync();
        await using (database)
        {
            Assert.StartsWith("test_", database.Name, StringComparison.Ordinal);
            Assert.True(await database.ExistsAsync());
            Assert.Equal(0L, await ScalarAsync(database.ConnectionString,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"));
            // An open pooled connection must not stop the drop.
            await ScalarAsync(database.ConnectionString, "SELECT 1");
        }

        Assert.False(await database.ExistsAsync());
    }

    [Fact]
    public async Task Class_fixture_connects_to_its_own_database()
    {
        Assert.Equal(fixture.Database.Name, await ScalarAsync(fixture.ConnectionString, "SELECT current_database()"));
    }

    [Fact]
    public async Task Server_commits_durably_and_has_room_for_parallel_tests()
    {
        Assert.Equal("on", await ScalarAsync(fixture.ConnectionString, "SHOW fsync"));
        Assert.Equal("on", await ScalarAsync(fixture.ConnectionString, "SHOW synchronous_commit"));
        Assert.Equal("200", await ScalarAsync(fixture.ConnectionString, "SHOW max_connections"));
        Assert.Equal("127.0.0.1", await ScalarAsync(fixture.ConnectionString, "SHOW listen_addresses"));
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
#pragma warning disable CA2100 // Constant test queries.
        await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        return await command.ExecuteScalarAsync();
    }
}
