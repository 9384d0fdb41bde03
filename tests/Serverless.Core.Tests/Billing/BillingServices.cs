using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;
using Serverless.Core.Tests.Metering;
using Serverless.Testing.Stripe;

namespace Serverless.Core.Tests.Billing;

/// <summary>
/// Billing as the host wires it (<see cref="LedgerServices"/> with Stripe configured) pointed at a fake Stripe, both on
/// one controllable clock, so a test can move time by weeks.
/// </summary>
internal sealed class BillingServices : IAsyncDisposable
{
    private readonly LedgerServices _ledger;

    private BillingServices(LedgerServices ledger, FakeStripeServer stripe)
    {
        _ledger = ledger;
        Stripe = stripe;
    }

    public FakeStripeServer Stripe { get; }

    public FakeTimeProvider Clock => _ledger.Clock;

    public UsageExporter Exporter => _ledger.Services.GetRequiredService<UsageExporter>();

    public Reconciler Reconciler => _ledger.Services.GetRequiredService<Reconciler>();

    public BillingAdmin Admin => _ledger.Services.GetRequiredService<BillingAdmin>();

    public static async Task<BillingServices> StartAsync(TestDatabase database)
    {
        var clock = new FakeTimeProvider(LedgerServices.Start);
        var stripe = await FakeStripeServer.StartAsync(new FakeStripeOptions { TimeProvider = clock });
        var ledger = await LedgerServices.StartAsync(database, new Dictionary<string, string?>
        {
            ["Stripe:ApiKey"] = stripe.ApiKey,
            ["Stripe:ApiBase"] = stripe.ApiBase,
            ["Stripe:MeterEventsBase"] = stripe.MeterEventsBase,
            ["Stripe:RequestTimeout"] = "00:00:05",
            ["Stripe:RetryDelay"] = "00:00:00",
            ["Stripe:MaxRetryDelay"] = "00:00:00",
        }, clock);
        await ledger.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        return new BillingServices(ledger, stripe);
    }

    /// <summary>A customer linked to a new customer in the fake Stripe.</summary>
    public Task<Customer> CustomerAsync(string id) =>
        _ledger.Services.GetRequiredService<BillingSetup>().EnsureCustomerAsync(id, id, null, CancellationToken.None);

    public string EventName(string meterKind)
    {
        using var db = Database();
        return db.Set<BillingMeter>().Single(m => m.Kind == meterKind).EventName;
    }

    /// <summary>One settled, billable record ending at <paramref name="endedAt"/>, with its outbox row, as settlement leaves it.</summary>
    public async Task SeedUsageAsync(string customer, DateTimeOffset endedAt, long prompt, long completion)
    {
        var record = await SeedRecordAsync(customer, endedAt, prompt, completion);
        await using var db = Database();
        db.Add(new ExportQueueItem { RecordId = record.Id, CustomerId = customer, EndedAt = endedAt, PromptTokens = prompt, CompletionTokens = completion });
        await db.SaveChangesAsync();
    }

    /// <summary>One settled, billable usage record ending at <paramref name="endedAt"/>, without the outbox row settlement writes with it.</summary>
    public async Task<UsageRecord> SeedRecordAsync(string customer, DateTimeOffset endedAt, long prompt, long completion)
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
        return record;
    }

    public async Task<List<ExportBucket>> BucketsAsync(string customer)
    {
        await using var db = Database();
        return await db.Set<ExportBucket>().AsNoTracking().Where(b => b.CustomerId == customer).OrderBy(b => b.Meter).ThenBy(b => b.Id).ToListAsync();
    }

    public ServerlessDbContext Database() => _ledger.Database();

    public async ValueTask DisposeAsync()
    {
        await _ledger.DisposeAsync();
        await Stripe.DisposeAsync();
    }
}
