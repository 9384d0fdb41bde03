using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;
using Serverless.Testing.Stripe;

namespace Serverless.Core.Tests.Billing;

/// <summary>
/// Billing as the host wires it (database, keys, ledger, billing; migrated) over a real SQLite file or PostgreSQL
/// database, pointed at a fake Stripe, both on one controllable clock, so a test can move time by weeks.
/// </summary>
internal sealed class BillingServices : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private BillingServices(ServiceProvider provider, FakeStripeServer stripe, FakeTimeProvider clock)
    {
        _provider = provider;
        Stripe = stripe;
        Clock = clock;
    }

    public FakeStripeServer Stripe { get; }

    public FakeTimeProvider Clock { get; }

    public UsageExporter Exporter => _provider.GetRequiredService<UsageExporter>();

    public Reconciler Reconciler => _provider.GetRequiredService<Reconciler>();

    public BillingAdmin Admin => _provider.GetRequiredService<BillingAdmin>();

    public static async Task<BillingServices> StartAsync(TestDatabase database)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));
        var stripe = await FakeStripeServer.StartAsync(new FakeStripeOptions { TimeProvider = clock });
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = database.Provider,
            ["Database:ConnectionString"] = database.ConnectionString,
            ["Keys:HashSecret"] = "test-hash-secret-0123456789-abcdefghijklmnop",
            ["Stripe:ApiKey"] = stripe.ApiKey,
            ["Stripe:ApiBase"] = stripe.ApiBase,
            ["Stripe:MeterEventsBase"] = stripe.MeterEventsBase,
            ["Stripe:RequestTimeout"] = "00:00:05",
            ["Stripe:RetryDelay"] = "00:00:00",
            ["Stripe:MaxRetryDelay"] = "00:00:00",
        }).Build();
        var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(clock)
            .AddDatabase(configuration)
            .AddApiKeys(configuration)
            .AddMetering(configuration)
            .AddBilling(configuration)
            .BuildServiceProvider();
        await provider.MigrateDatabaseAsync();
        await provider.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        return new BillingServices(provider, stripe, clock);
    }

    /// <summary>A customer linked to a new customer in the fake Stripe.</summary>
    public Task<Customer> CustomerAsync(string id) =>
        _provider.GetRequiredService<BillingSetup>().EnsureCustomerAsync(id, id, null, CancellationToken.None);

    public string EventName(string meterKind)
    {
        using var db = Database();
        return db.Set<BillingMeter>().Single(m => m.Kind == meterKind).EventName;
    }

    /// <summary>One settled, billable record ending at <paramref name="endedAt"/>, with its outbox row, as settlement leaves it.</summary>
    public async Task SeedUsageAsync(string customer, DateTimeOffset endedAt, long prompt, long completion)
    {
        await using var db = Database();
        var record = new UsageRecord
        {
            RequestId = "req_seed_" + Guid.NewGuid().ToString("N"),
            KeyId = "seedkey",
            CustomerId = customer,
            Model = "demo",
            PromptTokens = prompt,
            CompletionTokens = completion,
            PriceVersion = 1,
            CostMicroUsd = 1,
            StartedAt = endedAt.AddMilliseconds(-5),
            EndedAt = endedAt,
            Outcome = UsageOutcome.Completed,
            InstanceId = "seed",
        };
        db.Add(record);
        await db.SaveChangesAsync();
        db.Add(new ExportQueueItem { RecordId = record.Id, CustomerId = customer, EndedAt = endedAt, PromptTokens = prompt, CompletionTokens = completion });
        await db.SaveChangesAsync();
    }

    public async Task<List<ExportBucket>> BucketsAsync(string customer)
    {
        await using var db = Database();
        return await db.Set<ExportBucket>().AsNoTracking().Where(b => b.CustomerId == customer).OrderBy(b => b.Meter).ThenBy(b => b.Id).ToListAsync();
    }

    public ServerlessDbContext Database() => _provider.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContext();

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await Stripe.DisposeAsync();
    }
}
