using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Tests.Keys;

namespace Serverless.Core.Tests.Data;

/// <summary>
/// The KeyPermissions migration over keys made before it, on both providers: existing keys keep what they could do
/// (inference, batches, usage.read) and keys.manage stays with each customer's oldest key that is not revoked.
/// </summary>
public abstract class KeyPermissionsMigrationTests(string provider) : IAsyncLifetime
{
    private const string LastMigrationBeforePermissions = "20261126071529_LeanLedgerIndexes";

    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Existing_keys_get_todays_permissions_and_each_customers_oldest_active_key_keeps_keys_manage()
    {
        var clock = KeyServices.NewClock();
        await using var services = await KeyServices.StartAsync(_database, clock, migrate: false);
        await using (var db = services.CreateDbContext())
        {
            var creator = db.GetService<IRelationalDatabaseCreator>();
            if (!await creator.ExistsAsync())
            {
                await creator.CreateAsync();
            }

            await db.GetService<IMigrator>().MigrateAsync(LastMigrationBeforePermissions);
            Assert.Contains("20261206233214_KeyPermissions", await db.Database.GetPendingMigrationsAsync());
            await InsertCustomerAsync(db, "acme");
            await InsertCustomerAsync(db, "globex");
            await InsertCustomerAsync(db, "initech");
            await InsertKeyAsync(db, "acmerevoked1", "acme", createdAt: 1000, revokedAt: 1500);
            await InsertKeyAsync(db, "acmeoldest01", "acme", createdAt: 2000, revokedAt: null);
            await InsertKeyAsync(db, "acmenewer001", "acme", createdAt: 3000, revokedAt: null);
            await InsertKeyAsync(db, "globexbbbbbb", "globex", createdAt: 5000, revokedAt: null);
            await InsertKeyAsync(db, "globexaaaaaa", "globex", createdAt: 5000, revokedAt: null);
            await InsertKeyAsync(db, "initechgone1", "initech", createdAt: 1000, revokedAt: 2000);
        }

        await services.Services.MigrateDatabaseAsync();

        var permissions = (await services.Keys.ListAsync(null, default)).ToDictionary(k => k.KeyId, k => string.Join(',', k.Permissions));
        Assert.Equal(new Dictionary<string, string>
        {
            ["acmerevoked1"] = "inference,batches,usage.read",
            ["acmeoldest01"] = "inference,batches,usage.read,keys.manage",
            ["acmenewer001"] = "inference,batches,usage.read",
            ["globexaaaaaa"] = "inference,batches,usage.read,keys.manage",
            ["globexbbbbbb"] = "inference,batches,usage.read",
            ["initechgone1"] = "inference,batches,usage.read",
        }, permissions);
        await using var check = services.CreateDbContext();
        Assert.False(check.Database.HasPendingModelChanges());
    }

    private static Task InsertCustomerAsync(ServerlessDbContext db, string id) =>
        db.Database.ExecuteSqlAsync($"""INSERT INTO "Customers" ("Id", "Name", "CreatedAt", "Disabled") VALUES ({id}, {id}, {0L}, {false})""");

    private static Task InsertKeyAsync(ServerlessDbContext db, string keyId, string customerId, long createdAt, long? revokedAt)
    {
        var hash = new byte[ApiKeyHasher.HashLength];
        return db.Database.ExecuteSqlAsync($"""
            INSERT INTO "ApiKeys" ("KeyId", "CustomerId", "Name", "Hash", "Prefix", "LastFour", "ModelScope", "CreatedAt", "ExpiresAt", "RevokedAt", "LastUsedAt")
            VALUES ({keyId}, {customerId}, {"old"}, {hash}, {"sk-svl"}, {"abcd"}, NULL, {createdAt}, NULL, {revokedAt}, NULL)
            """);
    }

    public sealed class Sqlite() : KeyPermissionsMigrationTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : KeyPermissionsMigrationTests(DatabaseOptions.PostgresProvider);
}
