using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;
using Serverless.Core.Tests.Keys;

namespace Serverless.Core.Tests.Billing;

/// <summary>The export lease's statements (take, renew, release) on both providers: <see cref="Sqlite"/> and <see cref="Postgres"/>.</summary>
public abstract class ExportLeaseCommandTests(string provider) : IAsyncLifetime
{
    private const string Name = UsageExporter.LeaseName;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    private TestDatabase _database = null!;
    private KeyServices _services = null!;
    private LedgerConnections _connections = null!;
    private LedgerWriter _ledger = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(provider);
        _services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        _connections = new LedgerConnections(_services.Services.GetRequiredService<IOptions<DatabaseOptions>>());
        _ledger = new LedgerWriter(_connections, Options.Create(new MeteringOptions()), NullLogger<LedgerWriter>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _ledger.DisposeAsync();
        _connections.Dispose();
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    private Task<bool> Run(string holder, DateTimeOffset now, ExportLeaseAction action) =>
        _ledger.SubmitAsync(new ExportLeaseCommand(Name, holder, now, Lease, action));

    private async Task<ExportLease?> RowAsync()
    {
        await using var db = _services.CreateDbContext();
        return await db.Set<ExportLease>().AsNoTracking().SingleOrDefaultAsync(l => l.Name == Name);
    }

    [Fact]
    public async Task One_holder_at_a_time_takes_renews_and_releases_and_a_live_lease_is_never_taken_over()
    {
        Assert.True(await Run("a", T0, ExportLeaseAction.Take));
        Assert.False(await Run("b", T0.AddSeconds(29), ExportLeaseAction.Take));

        // Renewed at 20 s, it runs to 50 s: b still cannot take it at 40 s.
        Assert.True(await Run("a", T0.AddSeconds(20), ExportLeaseAction.Renew));
        Assert.Equal(T0.AddSeconds(50), (await RowAsync())!.ExpiresAt);
        Assert.False(await Run("b", T0.AddSeconds(40), ExportLeaseAction.Take));
        Assert.False(await Run("b", T0.AddSeconds(40), ExportLeaseAction.Renew));
        Assert.False(await Run("b", T0.AddSeconds(40), ExportLeaseAction.Release));
        Assert.Equal("a", (await RowAsync())!.Holder);

        // Released by its holder, it is free at once.
        Assert.True(await Run("a", T0.AddSeconds(41), ExportLeaseAction.Release));
        Assert.Null(await RowAsync());
        Assert.True(await Run("b", T0.AddSeconds(41), ExportLeaseAction.Take));
        Assert.Equal(("b", T0.AddSeconds(71)), ((await RowAsync())!.Holder, (await RowAsync())!.ExpiresAt));
    }

    [Fact]
    public async Task A_lease_not_renewed_in_time_is_lost_to_its_holder_and_taken_over_by_another()
    {
        Assert.True(await Run("dead", T0, ExportLeaseAction.Take));

        // Expired: a late renewal by the old holder fails even before anyone else took it.
        Assert.False(await Run("dead", T0.AddSeconds(31), ExportLeaseAction.Renew));
        Assert.False(await Run("b", T0.AddSeconds(30), ExportLeaseAction.Take));
        Assert.True(await Run("b", T0.AddSeconds(31), ExportLeaseAction.Take));

        // The old holder's release (its pass ending late) leaves the new holder's lease alone.
        Assert.False(await Run("dead", T0.AddSeconds(32), ExportLeaseAction.Release));
        Assert.Equal("b", (await RowAsync())!.Holder);
        Assert.True(await Run("b", T0.AddSeconds(40), ExportLeaseAction.Renew));
    }

    public sealed class Sqlite() : ExportLeaseCommandTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : ExportLeaseCommandTests(DatabaseOptions.PostgresProvider);
}
