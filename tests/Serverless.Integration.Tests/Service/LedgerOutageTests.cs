using System.Data.Common;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>A database that is locked (busy) for a while: requests fail cleanly with 503, nothing is half-written, the service recovers.</summary>
public abstract class LedgerOutageTests(ServiceFixture service)
{
    [Collection(ServiceTestGroup.Name)]
    public sealed class Sqlite(ServiceFixture service) : LedgerOutageTests(service)
    {
        protected override async Task<DbConnection> LockAsync(string connectionString)
        {
            var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await Execute(connection, "BEGIN EXCLUSIVE;");
            return connection;
        }
    }

    [Collection(PostgresServiceTestGroup.Name)]
    public sealed class Postgres(PostgresServiceFixture service) : LedgerOutageTests(service)
    {
        protected override async Task<DbConnection> LockAsync(string connectionString)
        {
            var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await Execute(connection, "BEGIN; LOCK TABLE \"Reservations\", \"UsageRecords\", \"RateWindows\" IN ACCESS EXCLUSIVE MODE;");
            return connection;
        }
    }

    /// <summary>Opens a connection that holds the ledger's tables locked until it is disposed.</summary>
    protected abstract Task<DbConnection> LockAsync(string connectionString);

    protected static async Task Execute(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task While_the_database_is_locked_requests_fail_cleanly_with_503_and_the_service_recovers()
    {
        var key = await service.CreateKeyAsync("outage-co");
        using var client = service.CreateClient(key.Key);
        const string body = """{"model":"demo","prompt":"Hello","max_tokens":3,"temperature":0}""";

        await using (var locker = await LockAsync(service.DatabaseConnectionString))
        {
            using var refused = await client.PostJsonAsync("/v1/completions", body);
            var error = await refused.ReadErrorAsync(503);
            Assert.Equal("ledger_unavailable", error.GetProperty("code").GetString());
            Assert.True(refused.Headers.Contains("Retry-After"));
            await Execute(locker, "ROLLBACK;");
        }

        using var recovered = await client.PostJsonAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);

        // Nothing half-written: the refused request left no record, no reservation and no reserved budget.
        await using var db = service.Database();
        Assert.Equal(1, await db.Set<UsageRecord>().CountAsync(r => r.CustomerId == "outage-co"));
        Assert.False(await db.Set<Reservation>().AnyAsync(r => r.CustomerId == "outage-co"));
        var budget = await db.Set<BudgetUsage>().AsNoTracking().SingleAsync(b => b.Scope == LimitScope.Customer && b.ScopeId == "outage-co");
        Assert.Equal(0, budget.ReservedMicroUsd);
    }
}
