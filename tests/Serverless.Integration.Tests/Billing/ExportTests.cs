using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;
using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.Billing;

[Collection(BillingTestGroup.Name)]
public sealed class ExportTests(BillingFixture billing)
{
    // Whole minutes, a few hours back: bucket boundaries fall on exact minutes from here. The tests seed up to about four
    // hours after it, all on one UTC day (reconciliation reports per day): run shortly after midnight, it moves back
    // to 19:00 of the day before rather than straddling midnight.
    private static readonly DateTimeOffset Base = OneDayBase(TruncateToMinute(DateTimeOffset.UtcNow.AddHours(-5)));

    private static DateTimeOffset OneDayBase(DateTimeOffset start) =>
        start.AddHours(4.5).UtcDateTime.Date == start.UtcDateTime.Date ? start : new DateTimeOffset(start.UtcDateTime.Date.AddHours(19), TimeSpan.Zero);

    private static DateTimeOffset TruncateToMinute(DateTimeOffset time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private async Task<(string Input, string Output)> MetersAsync()
    {
        var meters = await billing.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        return (meters.Single(m => m.Kind == MeterKind.InputTokens).EventName, meters.Single(m => m.Kind == MeterKind.OutputTokens).EventName);
    }

    private async Task<List<ExportBucket>> BucketsOf(string customer)
    {
        await using var db = billing.Database();
        return await db.Set<ExportBucket>().AsNoTracking().Where(b => b.CustomerId == customer).OrderBy(b => b.Id).ToListAsync();
    }

    [Fact]
    public async Task Billing_setup_creates_the_two_meters_once()
    {
        var first = await billing.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        var second = await billing.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        Assert.Equal(first.Select(m => m.StripeMeterId), second.Select(m => m.StripeMeterId));
        Assert.All(second, m => Assert.False(m.Created));
        Assert.Equal(2, billing.Stripe.Meters.Count(m => m.EventName is "svl_input_tokens" or "svl_output_tokens"));
    }

    [Fact]
    public async Task Usage_of_real_requests_reaches_stripe_once_per_bucket_with_the_ledgers_totals()
    {
        var (input, output) = await MetersAsync();
        var customer = await billing.CustomerAsync("export-live-co");
        var key = await billing.CreateKeyAsync(customer.Id);
        using var client = billing.CreateClient(key.Key);
        for (int i = 0; i < 5; i++)
        {
            using var response = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"Once","max_tokens":4,"temperature":0}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        int callsBefore = billing.Stripe.CallCount(StripeEndpoint.MeterEvents);
        await billing.DrainAsync();

        await using var db = billing.Database();
        var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == customer.Id).ToListAsync();
        Assert.Equal(records.Sum(r => r.PromptTokens), billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
        Assert.Equal(records.Sum(r => r.CompletionTokens), billing.Stripe.TotalFor(customer.StripeCustomerId!, output));

        // One call per bucket, not per request: five requests within a minute or two are two to four buckets.
        var buckets = await BucketsOf(customer.Id);
        Assert.All(buckets, b => Assert.Equal(ExportStatus.Accepted, b.Status));
        Assert.Equal(buckets.Count, billing.Stripe.CallCount(StripeEndpoint.MeterEvents) - callsBefore);
        Assert.InRange(buckets.Count, 2, 4);
    }

    [Fact]
    public async Task Records_on_either_side_of_a_bucket_boundary_go_to_different_buckets_and_late_records_get_a_new_one()
    {
        var (input, _) = await MetersAsync();
        var customer = await billing.CustomerAsync("boundary-co");
        var minute = Base.AddMinutes(3);
        await billing.SeedUsageAsync(customer.Id, [minute.AddMilliseconds(-1), minute, minute.AddSeconds(59).AddMilliseconds(999)]);
        await billing.DrainAsync();

        var buckets = (await BucketsOf(customer.Id)).Where(b => b.Meter == MeterKind.InputTokens).ToList();
        Assert.Equal(2, buckets.Count);
        Assert.Equal(10, buckets.Single(b => b.BucketStart == minute.AddMinutes(-1)).Value);
        Assert.Equal(20, buckets.Single(b => b.BucketStart == minute).Value);

        // A record for a minute that was already exported: a second bucket for that minute, its own identifier.
        await billing.SeedUsageAsync(customer.Id, [minute.AddSeconds(30)]);
        await billing.DrainAsync();
        var late = (await BucketsOf(customer.Id)).Where(b => b.Meter == MeterKind.InputTokens && b.BucketStart == minute).ToList();
        Assert.Equal([1, 2], late.Select(b => b.Sequence));
        Assert.NotEqual(late[0].Identifier, late[1].Identifier);
        Assert.Equal(40, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
    }

    [Fact]
    public async Task Many_buckets_go_through_the_v2_stream_and_few_through_v1()
    {
        var (input, output) = await MetersAsync();
        var few = await billing.CustomerAsync("few-co");
        await billing.SeedUsageAsync(few.Id, [Base.AddMinutes(10), Base.AddMinutes(11)]);
        int streamBefore = billing.Stripe.CallCount(StripeEndpoint.MeterEventStream);
        await billing.DrainAsync();
        Assert.Equal(streamBefore, billing.Stripe.CallCount(StripeEndpoint.MeterEventStream));
        Assert.All(await BucketsOf(few.Id), b => Assert.Equal("v1", b.Transport));

        var many = await billing.CustomerAsync("many-co");
        var (prompt, completion) = await billing.SeedUsageAsync(many.Id, Enumerable.Range(0, 150).Select(i => Base.AddMinutes(20 + i * 0.5)));
        await billing.DrainAsync();
        var buckets = await BucketsOf(many.Id);
        Assert.Equal(150, buckets.Count);
        Assert.All(buckets, b => Assert.Equal("v2", b.Transport));
        Assert.InRange(billing.Stripe.CallCount(StripeEndpoint.MeterEventStream) - streamBefore, 2, 4);
        Assert.Equal(prompt, billing.Stripe.TotalFor(many.StripeCustomerId!, input));
        Assert.Equal(completion, billing.Stripe.TotalFor(many.StripeCustomerId!, output));
    }

    [Fact]
    public async Task A_permanently_rejected_bucket_is_dead_lettered_and_an_admin_retry_delivers_it()
    {
        var (input, _) = await MetersAsync();
        var customer = await billing.CustomerAsync("dead-letter-co");
        var meter = billing.Stripe.Meters.Single(m => m.EventName == input);
        await billing.Stripe.CreateClient().V1.Billing.Meters.DeactivateAsync(meter.Id);
        try
        {
            await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(90)]);
            await billing.Exporter.RunPassAsync(CancellationToken.None);
            var dead = (await BucketsOf(customer.Id)).Single(b => b.Meter == MeterKind.InputTokens);
            Assert.Equal(ExportStatus.DeadLetter, dead.Status);
            Assert.StartsWith("400", dead.LastError, StringComparison.Ordinal);

            using var admin = billing.CreateClient(billing.AdminKey);
            var listed = await (await admin.GetAsync("/v1/admin/billing/dead-letters")).ReadJsonAsync();
            Assert.Contains(listed.GetProperty("data").EnumerateArray(), b => b.GetProperty("identifier").GetString() == dead.Identifier);
        }
        finally
        {
            await billing.Stripe.CreateClient().V1.Billing.Meters.ReactivateAsync(meter.Id);
        }

        using (var admin = billing.CreateClient(billing.AdminKey))
        using (var retry = await admin.PostJsonAsync("/v1/admin/billing/dead-letters/retry", "{}"))
        {
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        }

        await billing.DrainAsync();
        Assert.All(await BucketsOf(customer.Id), b => Assert.Equal(ExportStatus.Accepted, b.Status));
        Assert.Equal(10, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
    }

    [Fact]
    public async Task Under_random_failures_and_an_exporter_killed_mid_run_stripe_ends_equal_to_the_ledger_with_no_identifier_accepted_twice()
    {
        var (input, output) = await MetersAsync();
        var customers = new[] { await billing.CustomerAsync("chaos-a"), await billing.CustomerAsync("chaos-b"), await billing.CustomerAsync("chaos-c") };
        var totals = new Dictionary<string, (long Prompt, long Completion)>();
        foreach (var (customer, index) in customers.Select((c, i) => (c, i)))
        {
            totals[customer.Id] = await billing.SeedUsageAsync(customer.Id, Enumerable.Range(0, 40).Select(i => Base.AddMinutes(200 + i + index * 0.25)), prompt: 7 + index, completion: 13 + index);
        }

        billing.Stripe.FailRandomly(0.3, seed: 20261126,
            [StripeFailure.ServerError, StripeFailure.RateLimited(TimeSpan.Zero), StripeFailure.TimeoutAfterAccept(TimeSpan.FromSeconds(5))],
            StripeEndpoint.MeterEvents, StripeEndpoint.MeterEventStream);
        try
        {
            // The first exporter (one v1 call per bucket) dies mid-run: its pass is abandoned after a few calls.
            var first = ActivatorUtilities.CreateInstance<UsageExporter>(billing.Services, Options.Create(new StripeOptions
            {
                ApiKey = billing.Stripe.ApiKey, ApiBase = billing.Stripe.ApiBase, MeterEventsBase = billing.Stripe.MeterEventsBase,
                StreamThreshold = 1_000_000, RequestTimeout = TimeSpan.FromSeconds(1), RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero,
            }));
            using (var kill = new CancellationTokenSource())
            {
                int callsAtStart = billing.Stripe.TotalCalls;
                var pass = first.RunPassAsync(kill.Token);
                while (!pass.IsCompleted && billing.Stripe.TotalCalls < callsAtStart + 40)
                {
                    await Task.Delay(5);
                }

                await kill.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { });
            }

            // A new exporter (what a restarted host runs) takes over the same database, now through the v2 stream.
            var restarted = ActivatorUtilities.CreateInstance<UsageExporter>(billing.Services);
            for (int i = 0; i < 200; i++)
            {
                await restarted.RunPassAsync(CancellationToken.None);
                await using var db = billing.Database();
                var ids = customers.Select(c => c.Id).ToList();
                if (!await db.Set<ExportQueueItem>().AnyAsync(q => ids.Contains(q.CustomerId))
                    && !await db.Set<ExportBucket>().AnyAsync(b => ids.Contains(b.CustomerId) && b.Status != ExportStatus.Accepted))
                {
                    break;
                }
            }
        }
        finally
        {
            billing.Stripe.StopFailing();
        }

        Assert.True(billing.Stripe.FailuresInjected > 0);
        foreach (var customer in customers)
        {
            Assert.Equal(totals[customer.Id].Prompt, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
            Assert.Equal(totals[customer.Id].Completion, billing.Stripe.TotalFor(customer.StripeCustomerId!, output));
            var buckets = await BucketsOf(customer.Id);
            Assert.All(buckets, b => Assert.Equal(ExportStatus.Accepted, b.Status));
        }

        var accepted = billing.Stripe.AcceptedEvents.Where(e => customers.Any(c => c.StripeCustomerId == e.CustomerId)).ToList();
        Assert.Equal(accepted.Count, accepted.Select(e => e.Identifier).Distinct().Count());
    }

    [Fact]
    public async Task Reconciliation_matches_ledger_exported_and_stripe_and_corrects_a_difference()
    {
        var (input, _) = await MetersAsync();
        var customer = await billing.CustomerAsync("reconcile-co");
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(100), Base.AddMinutes(101)]);
        await billing.DrainAsync();

        var reconciler = billing.Services.GetRequiredService<Reconciler>();
        var clean = await reconciler.RunAsync(null, null, correct: false, CancellationToken.None);
        Assert.All(clean.Lines.Where(l => l.CustomerId == customer.Id), l => Assert.Equal(ReconciliationStatus.Ok, l.Status));

        // Stripe loses one event (cancelled behind our back): reconciliation sees it and sends what is missing.
        var lost = billing.Stripe.AcceptedEvents.First(e => e.CustomerId == customer.StripeCustomerId && e.EventName == input);
        await billing.Stripe.CreateClient().V1.Billing.MeterEventAdjustments.CreateAsync(new global::Stripe.Billing.MeterEventAdjustmentCreateOptions
        {
            EventName = input,
            Type = "cancel",
            Cancel = new global::Stripe.Billing.MeterEventAdjustmentCancelOptions { Identifier = lost.Identifier },
        });
        Assert.Equal(10, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));

        var found = await reconciler.RunAsync(null, null, correct: true, CancellationToken.None);
        var line = found.Lines.Single(l => l.CustomerId == customer.Id && l.Meter == MeterKind.InputTokens);
        Assert.Equal(ReconciliationStatus.Corrected, line.Status);
        Assert.Equal(20, line.Ledger);
        Assert.Equal(20, line.Exported);
        Assert.Equal(10, line.Stripe);
        Assert.Equal(20, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));

        var after = await reconciler.RunAsync(null, null, correct: false, CancellationToken.None);
        Assert.All(after.Lines.Where(l => l.CustomerId == customer.Id), l => Assert.Equal(ReconciliationStatus.Ok, l.Status));

        // Stripe counting more than the ledger: a recent event is cancelled and the difference re-sent.
        var extra = billing.Stripe.AcceptedEvents.First(e => e.CustomerId == customer.StripeCustomerId && e.EventName == input && !e.Cancelled);
        await billing.Stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(new global::Stripe.Billing.MeterEventCreateOptions
        {
            EventName = input,
            Identifier = "outside-" + Guid.NewGuid().ToString("N"),
            Timestamp = extra.Timestamp.UtcDateTime,
            Payload = new() { ["stripe_customer_id"] = customer.StripeCustomerId!, ["value"] = "3" },
        });
        var over = await reconciler.RunAsync(null, null, correct: true, CancellationToken.None);
        Assert.Equal(ReconciliationStatus.Corrected, over.Lines.Single(l => l.CustomerId == customer.Id && l.Meter == MeterKind.InputTokens).Status);
        Assert.Equal(20, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));

        using var admin = billing.CreateClient(billing.AdminKey);
        var status = await (await admin.GetAsync("/v1/admin/billing/status")).ReadJsonAsync();
        Assert.True(status.GetProperty("last_reconciliation_id").GetInt64() >= over.RunId);
    }
}
