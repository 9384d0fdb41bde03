using System.Text;
using Npgsql;
using Serverless.Core.Data;
using Serverless.Testing;

namespace Serverless.Core.Tests.Data;

/// <summary>A fresh database on the test PostgreSQL server, dropped afterwards.</summary>
internal sealed class PostgresTestDatabase : TestDatabase
{
    private readonly PostgresDatabase _database;

    private PostgresTestDatabase(PostgresDatabase database) => _database = database;

    public override string Provider => DatabaseOptions.PostgresProvider;

    public override string ConnectionString => _database.ConnectionString;

    public PostgresDatabase Database => _database;

    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        var server = await PostgresServer.GetAsync();
        return new PostgresTestDatabase(await server.CreateDatabaseAsync());
    }

    public override async Task<string> ReadStoredTextAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var text = new StringBuilder();
        foreach (var table in tables)
        {
            // A row cast to text is its whole record literal: every column, bytea as hex.
#pragma warning disable CA2100 // Table names come from the catalog and are quoted.
            await using var rows = new NpgsqlCommand($"SELECT t::text FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\" t", connection);
#pragma warning restore CA2100
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                text.AppendLine(reader.GetString(0));
            }
        }

        return text.ToString();
    }

    public override Task DeleteAsync() => _database.DropAsync();
}
