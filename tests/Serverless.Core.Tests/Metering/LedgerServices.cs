using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// The ledger as the host wires it (database, keys, metering, billing; migrated) over a real SQLite file or PostgreSQL
/// database, on a controllable clock. Billing is off unless <see cref="StartAsync"/> is given Stripe settings
/// (<see cref="Billing.BillingServices"/> does).
/// </summary>
internal sealed class LedgerServices : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private LedgerServices(ServiceProvider provider, FakeTimeProvider clock)
    {
        _provider = provider;
        Clock = clock;
    }

    /// <summary>The middle of a month, at the start of a minute: rate windows and budget periods do not roll over by chance.</summary>
    public static DateTimeOffset Start => new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; }

    public IServiceProvider Services => _provider;

    public MeteringService Metering => _provider.GetRequiredService<MeteringService>();

    public PriceBook Prices => _provider.GetRequiredService<PriceBook>();

    public LimitPolicies Limits => _provider.GetRequiredService<LimitPolicies>();

    /// <param name="settings">Configuration on top of the database's (Stripe, limits, ...).</param>
    /// <param name="clock">The clock, when something else (a fake Stripe) must run on it too; a new one at <see cref="Start"/> otherwise.</param>
    public static async Task<LedgerServices> StartAsync(TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null, FakeTimeProvider? clock = null)
    {
        clock ??= new FakeTimeProvider(Start);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = database.Provider,
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Keys:HashSecret"] = "test-hash-secret-0123456789-abcdefghijklmnop",
        }).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(clock)
            .AddDatabase(configuration)
            .AddApiKeys(configuration)
            .AddMetering(configuration)
            .AddBilling(configuration)
            .BuildServiceProvider();
        await provider.MigrateDatabaseAsync();
        return new LedgerServices(provider, clock);
    }

    public ServerlessDbContext Database() => _provider.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContext();

    /// <summary>A key's or customer's budget row as the database holds it (null when there is none).</summary>
    public async Task<(long Spent, long Reserved, long SpentTokens, long ReservedTokens)?> BudgetAsync(string scope, string id)
    {
        await using var db = Database();
        var row = await db.Set<BudgetUsage>().AsNoTracking().SingleOrDefaultAsync(b => b.Scope == scope && b.ScopeId == id);
        return row is null ? null : (row.SpentMicroUsd, row.ReservedMicroUsd, row.SpentTokens, row.ReservedTokens);
    }

    /// <summary>A key's or customer's rate windows, summed over minutes (null when there is none).</summary>
    public async Task<(long Requests, long Tokens)?> WindowAsync(string scope, string id)
    {
        await using var db = Database();
        var rows = await db.Set<RateWindow>().AsNoTracking().Where(w => w.Scope == scope && w.ScopeId == id).ToListAsync();
        return rows.Count == 0 ? null : (rows.Sum(w => w.Requests), rows.Sum(w => w.Tokens));
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
