using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;

namespace Serverless.Core.Tests.Keys;

public sealed class DatabaseMigrationTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Migrations_build_an_empty_database_that_matches_the_model()
    {
        await using var services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        await using var db = services.CreateDbContext();

        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync());
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed without a migration: run dotnet ef migrations add.");
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
    public async Task Database_file_uses_write_ahead_logging_and_a_busy_timeout()
    {
        await using var services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        await using var db = services.CreateDbContext();
        await db.Database.OpenConnectionAsync();

        Assert.Equal("wal", await PragmaAsync(db, "journal_mode"));
        Assert.Equal(5000L, await PragmaAsync(db, "busy_timeout"));
    }

    [Fact]
    public async Task Migrating_creates_the_folder_of_the_database_file()
    {
        var file = Path.Combine(_database.Folder, "a", "b", "serverless.db");

        await using var services = await KeyServices.StartAsync($"Data Source={file}", KeyServices.NewClock());

        Assert.True(File.Exists(file));
    }

    private static async Task<object?> PragmaAsync(ServerlessDbContext db, string pragma)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"PRAGMA {pragma};";
        return await command.ExecuteScalarAsync();
    }
}
