using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Billing;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;
using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.Billing;

/// <summary>The service with Stripe billing pointed at a fake Stripe server (the real Stripe.net client in between).</summary>
public sealed class BillingFixture : ServiceFixture
{
    public FakeStripeServer Stripe { get; private set; } = null!;

    public string WebhookSecret { get; } = StripeWebhook.NewSecret();

    protected override async Task ConfigureAsync(IDictionary<string, string?> settings)
    {
        Stripe = await FakeStripeServer.StartAsync(new FakeStripeOptions { WebhookSecret = WebhookSecret });
        settings["Stripe:ApiKey"] = Stripe.ApiKey;
        settings["Stripe:WebhookSecret"] = WebhookSecret;
        settings["Stripe:ApiBase"] = Stripe.ApiBase;
        settings["Stripe:MeterEventsBase"] = Stripe.MeterEventsBase;
        settings["Stripe:RequestTimeout"] = "00:00:01";
        settings["Stripe:RetryDelay"] = "00:00:00";
        settings["Stripe:MaxRetryDelay"] = "00:00:00";
        settings["Stripe:StreamThreshold"] = "20";

        // Tests drive the exporter and reconciler themselves.
        settings["Stripe:ExportInterval"] = "01:00:00";
        settings["Stripe:ReconcileInterval"] = "00:00:00";
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Stripe is not null)
        {
            await Stripe.DisposeAsync();
        }
    }

    public UsageExporter Exporter => Services.GetRequiredService<UsageExporter>();

    /// <summary>A customer linked to a new customer in the fake Stripe.</summary>
    public async Task<Customer> CustomerAsync(string id) =>
        await Services.GetRequiredService<BillingSetup>().EnsureCustomerAsync(id, id, null, CancellationToken.None);

    /// <summary>
    /// Settled usage as the ledger would hold it: records with their outbox rows, ending at the given times.
    /// Returns the (prompt, completion) totals written.
    /// </summary>
    public async Task<(long Prompt, long Completion)> SeedUsageAsync(string customer, IEnumerable<DateTimeOffset> endedAt, int prompt = 10, int completion = 20)
    {
        await using var db = Database();
        var records = endedAt.Select(t => new UsageRecord
        {
            RequestId = "req_seed_" + Guid.NewGuid().ToString("N"),
            KeyId = "seedkey",
            CustomerId = customer,
            Model = "demo",
            PromptTokens = prompt,
            CompletionTokens = completion,
            PriceVersion = 1,
            CostMicroUsd = 1,
            StartedAt = t.AddMilliseconds(-5),
            EndedAt = t,
            Outcome = UsageOutcome.Completed,
            InstanceId = "seed",
        }).ToList();
        db.AddRange(records);
        await db.SaveChangesAsync();
        db.AddRange(records.Select(r => new ExportQueueItem { RecordId = r.Id, CustomerId = customer, EndedAt = r.EndedAt, PromptTokens = prompt, CompletionTokens = completion }));
        await db.SaveChangesAsync();
        return (records.Count * (long)prompt, records.Count * (long)completion);
    }

    /// <summary>Runs export passes until nothing is pending (or a bound is reached).</summary>
    public async Task DrainAsync(int maxPasses = 200)
    {
        for (int i = 0; i < maxPasses; i++)
        {
            await Exporter.RunPassAsync(CancellationToken.None);
            await using var db = Database();
            if (!await db.Set<ExportQueueItem>().AnyAsync(q => db.Set<Customer>().Any(c => c.Id == q.CustomerId && c.StripeCustomerId != null))
                && !await db.Set<ExportBucket>().AnyAsync(b => b.Status == ExportStatus.Pending))
            {
                return;
            }
        }

        throw new TimeoutException("Export did not drain.");
    }
}

[CollectionDefinition(Name)]
public sealed class BillingTestGroup : ICollectionFixture<BillingFixture>
{
    public const string Name = "billing";
}
