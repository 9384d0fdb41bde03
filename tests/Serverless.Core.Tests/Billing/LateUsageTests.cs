using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Billing;

/// <summary>
/// Usage older than Stripe's 35-day window when it is sent: billed with its send time, the shift recorded on the
/// bucket, and reconciled by the day it was used (ledger side) and the day Stripe holds it (Stripe side).
/// Runs on <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract class LateUsageTests(string provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Usage_left_pending_for_40_days_is_billed_at_its_send_time_and_reconciles_without_a_difference()
    {
        await using var billing = await BillingServices.StartAsync(_database);
        var customer = await billing.CustomerAsync("late-co");
        string input = billing.EventName(MeterKind.InputTokens);
        var used = billing.Clock.GetUtcNow().AddHours(-1);
        await billing.SeedUsageAsync(customer.Id, used, prompt: 5, completion: 7);

        // Nobody exported for 40 days (e.g. the Stripe key was configured late).
        billing.Clock.Advance(TimeSpan.FromDays(40));
        var now = billing.Clock.GetUtcNow();
        var pass = await billing.Exporter.RunPassAsync(CancellationToken.None);

        Assert.Equal((2, 0), (pass.BucketsAccepted, pass.BucketsDeadLettered));
        Assert.Equal(5, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
        var buckets = await billing.BucketsAsync(customer.Id);
        Assert.All(buckets, b =>
        {
            Assert.Equal(ExportStatus.Accepted, b.Status);
            Assert.True(b.BucketStart <= used && b.BucketStart > used.AddMinutes(-1));
            Assert.Equal(now, b.StripeTimestamp);
        });
        Assert.All(billing.Stripe.AcceptedEvents, e => Assert.Equal(now.ToUnixTimeSeconds(), e.Timestamp.ToUnixTimeSeconds()));

        await AssertReconciledOnBothDaysAsync(billing, customer.Id, customer.StripeCustomerId!, input, used, now);
    }

    [Fact]
    public async Task A_dead_letter_retried_after_stripes_window_is_sent_with_a_new_timestamp_instead_of_being_refused_again()
    {
        await using var billing = await BillingServices.StartAsync(_database);
        var customer = await billing.CustomerAsync("late-retry-co");
        string input = billing.EventName(MeterKind.InputTokens);
        var meter = billing.Stripe.Meters.Single(m => m.EventName == input);
        var used = billing.Clock.GetUtcNow().AddHours(-1);
        await billing.SeedUsageAsync(customer.Id, used, prompt: 5, completion: 7);
        await billing.Stripe.CreateClient().V1.Billing.Meters.DeactivateAsync(meter.Id);
        await billing.Exporter.RunPassAsync(CancellationToken.None);
        Assert.Equal(ExportStatus.DeadLetter, (await billing.BucketsAsync(customer.Id)).Single(b => b.Meter == MeterKind.InputTokens).Status);

        // The operator gets to it 40 days later: the bucket's own timestamp is now outside Stripe's window.
        billing.Clock.Advance(TimeSpan.FromDays(40));
        var now = billing.Clock.GetUtcNow();
        await billing.Stripe.CreateClient().V1.Billing.Meters.ReactivateAsync(meter.Id);
        await billing.Exporter.RetryDeadLettersAsync(null, CancellationToken.None);
        var pass = await billing.Exporter.RunPassAsync(CancellationToken.None);

        Assert.Equal((1, 0), (pass.BucketsAccepted, pass.BucketsDeadLettered));
        var retried = (await billing.BucketsAsync(customer.Id)).Single(b => b.Meter == MeterKind.InputTokens);
        Assert.Equal((ExportStatus.Accepted, (DateTimeOffset?)now), (retried.Status, retried.StripeTimestamp));
        Assert.Null((await billing.BucketsAsync(customer.Id)).Single(b => b.Meter == MeterKind.OutputTokens).StripeTimestamp);
        Assert.Equal(5, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));

        var run = await billing.Reconciler.RunAsync(used, now.AddDays(1), correct: true, CancellationToken.None);
        Assert.Equal(0, run.Differences);
        Assert.Equal(5, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
        var usedDay = run.Lines.Single(l => l.Meter == MeterKind.InputTokens && l.Day == Day(used));
        Assert.Equal((5L, 5L, 5L, 0L, ReconciliationStatus.Ok), (usedDay.Ledger, usedDay.Exported, usedDay.LateOut, usedDay.Stripe, usedDay.Status));
        var sentDay = run.Lines.Single(l => l.Meter == MeterKind.InputTokens && l.Day == Day(now));
        Assert.Equal((0L, 5L, 5L, ReconciliationStatus.Ok), (sentDay.Ledger, sentDay.LateIn, sentDay.Stripe, sentDay.Status));
    }

    private static async Task AssertReconciledOnBothDaysAsync(BillingServices billing, string customer, string stripeCustomer, string input, DateTimeOffset used, DateTimeOffset now)
    {
        // With --fix: a reconciler that compared each day's Stripe total with that day's exports would cancel the
        // late event on the day it landed (Stripe "has more") and call the usage day short.
        var run = await billing.Reconciler.RunAsync(used, now.AddDays(1), correct: true, CancellationToken.None);
        Assert.Equal((0, 0), (run.Differences, run.Corrections));
        Assert.Equal(5, billing.Stripe.TotalFor(stripeCustomer, input));
        Assert.All(run.Lines, l => Assert.Equal(ReconciliationStatus.Ok, l.Status));

        var usedDay = run.Lines.Single(l => l.CustomerId == customer && l.Meter == MeterKind.InputTokens && l.Day == Day(used));
        Assert.Equal((5L, 5L, 0L, 5L, 0L, 0L), (usedDay.Ledger, usedDay.Exported, usedDay.Pending, usedDay.LateOut, usedDay.LateIn, usedDay.Stripe));
        var sentDay = run.Lines.Single(l => l.CustomerId == customer && l.Meter == MeterKind.InputTokens && l.Day == Day(now));
        Assert.Equal((0L, 0L, 0L, 5L, 5L), (sentDay.Ledger, sentDay.Exported, sentDay.LateOut, sentDay.LateIn, sentDay.Stripe));

        // The default range (the last days) sees only the day Stripe holds the usage on, and agrees too.
        var recent = await billing.Reconciler.RunAsync(null, null, correct: true, CancellationToken.None);
        Assert.Equal(0, recent.Differences);
        Assert.Equal(5, billing.Stripe.TotalFor(stripeCustomer, input));

        var status = await billing.Admin.StatusAsync(CancellationToken.None);
        Assert.Equal((2L, 12L), (status.LateBuckets, status.LateTokens));
    }

    private static string Day(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public sealed class Sqlite() : LateUsageTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : LateUsageTests(DatabaseOptions.PostgresProvider);
}
