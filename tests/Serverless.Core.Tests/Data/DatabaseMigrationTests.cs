using Microsoft.EntityFrameworkCore;
using Npgsql;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Tests.Keys;

namespace Serverless.Core.Tests.Data;

/// <summary>The one set of migrations, applied on both providers: <see cref="Sqlite"/> and <see cref="Postgres"/>.</summary>
public abstract class DatabaseMigrationTests(string provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;

    private protected TestDatabase Database => _database;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Migrations_build_an_empty_database_that_matches_the_model()
    {
        await using var services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        await using var db = services.CreateDbContext();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync());
        // The snapshot carries no column types, so each provider compares it with its own mapping of the
        // model: this holds on PostgreSQL too, although migrations are generated against SQLite.
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a migration: see Data/Migrations/README.md.");
        Assert.Equal(0, await db.ApiKeys.CountAsync());
        Assert.Equal(0, await db.Customers.CountAsync());
    }

    [Fact]
    public async Task Migrating_twice_is_harmless()
    {
        await using var services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        await services.Keys.CreateAsync("acme", "ci", null, null, default);

        await services.Services.MigrateDatabaseAsync();

        Assert.Single(await services.Keys.ListAsync(null, default));
    }

    [Fact]
    public async Task Instances_starting_together_migrate_once()
    {
        // Against EF Core's PostgreSQL lock alone this fails as soon as there are two or more migrations
        // (MigrateDatabaseAsync explains why); with one it passes either way.
        var clock = KeyServices.NewClock();

        var instances = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => KeyServices.StartAsync(_database, clock)));
        try
        {
            await using var db = instances[0].CreateDbContext();
            Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    /// <summary>Column types as the database reports them, by "Table.Column".</summary>
    private protected abstract Task<Dictionary<string, string>> ReadColumnTypesAsync(ServerlessDbContext db);

    private protected async Task<Dictionary<string, string>> MigratedColumnTypesAsync()
    {
        await using var services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        await using var db = services.CreateDbContext();
        await db.Database.OpenConnectionAsync();
        return await ReadColumnTypesAsync(db);
    }

    public sealed class Sqlite() : DatabaseMigrationTests(DatabaseOptions.SqliteProvider)
    {
        [Fact]
        public async Task Database_file_uses_write_ahead_logging_and_a_busy_timeout()
        {
            await using var services = await KeyServices.StartAsync(Database, KeyServices.NewClock());
            await using var db = services.CreateDbContext();
            await db.Database.OpenConnectionAsync();

            Assert.Equal("wal", await ScalarAsync(db, "PRAGMA journal_mode;"));
            Assert.Equal(5000L, await ScalarAsync(db, "PRAGMA busy_timeout;"));
        }

        [Fact]
        public async Task Migrating_creates_the_folder_of_the_database_file()
        {
            var file = Path.Combine(((SqliteTestDatabase)Database).Folder, "a", "b", "serverless.db");

            await using var services = await KeyServices.StartAsync(DatabaseOptions.SqliteProvider, $"Data Source={file}", KeyServices.NewClock());

            Assert.True(File.Exists(file));
        }

        [Fact]
        public async Task Columns_get_sqlite_storage_classes()
        {
            var types = await MigratedColumnTypesAsync();

            Assert.Equal("TEXT", types["ApiKeys.KeyId"]);
            Assert.Equal("BLOB", types["ApiKeys.Hash"]);
            Assert.Equal("INTEGER", types["ApiKeys.CreatedAt"]);
            Assert.Equal("INTEGER", types["Customers.Disabled"]);
        }

        private protected override async Task<Dictionary<string, string>> ReadColumnTypesAsync(ServerlessDbContext db)
        {
            var types = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var table in new[] { "ApiKeys", "Customers" })
            {
                await using var command = db.Database.GetDbConnection().CreateCommand();
                command.CommandText = $"SELECT name, type FROM pragma_table_info('{table}');";
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    types[$"{table}.{reader.GetString(0)}"] = reader.GetString(1);
                }
            }

            return types;
        }
    }

    public sealed class Postgres() : DatabaseMigrationTests(DatabaseOptions.PostgresProvider)
    {
        [Fact]
        public async Task Migrating_creates_the_database_when_it_does_not_exist()
        {
            var database = ((PostgresTestDatabase)Database).Database;
            await database.DropAsync();

            await using var services = await KeyServices.StartAsync(Database, KeyServices.NewClock());

            Assert.True(await database.ExistsAsync());
            await using var db = services.CreateDbContext();
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        }

        [Fact]
        public async Task Columns_get_native_postgres_types()
        {
            // Generated against SQLite, a migration with its types left in would make "INTEGER" columns,
            // which PostgreSQL reads as 32-bit: unix milliseconds would overflow.
            var types = await MigratedColumnTypesAsync();

            Assert.Equal("character varying(12)", types["ApiKeys.KeyId"]);
            Assert.Equal("bytea", types["ApiKeys.Hash"]);
            Assert.Equal("bigint", types["ApiKeys.CreatedAt"]);
            Assert.Equal("bigint", types["ApiKeys.ExpiresAt"]);
            Assert.Equal("boolean", types["Customers.Disabled"]);
        }

        private protected override async Task<Dictionary<string, string>> ReadColumnTypesAsync(ServerlessDbContext db)
        {
            var types = new Dictionary<string, string>(StringComparer.Ordinal);
            await using var command = new NpgsqlCommand(
                """
                SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
                FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
                """,
                (NpgsqlConnection)db.Database.GetDbConnection());
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                types[$"{reader.GetString(0)}.{reader.GetString(1)}"] = reader.GetString(2);
            }

            return types;
        }
    }

    private static async Task<object?> ScalarAsync(ServerlessDbContext db, string sql)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
