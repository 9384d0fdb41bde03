using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Billing;

/// <summary>
/// A dead letter is money Stripe does not have: reconciliation reports it as a difference with its own quantity,
/// status and dashboard show it, and --fix leaves it to the operator. Runs on <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract class DeadLetterReconciliationTests(string provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task A_dead_lettered_bucket_is_a_difference_with_its_quantity_that_fix_leaves_for_the_operator_to_retry()
    {
        await using var billing = await BillingServices.StartAsync(_database);
        var customer = await billing.CustomerAsync("held-co");
        string input = billing.EventName(MeterKind.InputTokens);
        string output = billing.EventName(MeterKind.OutputTokens);
        var meter = billing.Stripe.Meters.Single(m => m.EventName == input);
        await billing.SeedUsageAsync(customer.Id, billing.Clock.GetUtcNow().AddHours(-2), prompt: 5, completion: 7);

        // Stripe refuses the input event for good (its meter is archived); the output event goes through.
        await billing.Stripe.CreateClient().V1.Billing.Meters.DeactivateAsync(meter.Id);
        var pass = await billing.Exporter.RunPassAsync(CancellationToken.None);
        Assert.Equal(1, pass.BucketsDeadLettered);

        var run = await billing.Reconciler.RunAsync(null, null, correct: true, CancellationToken.None);
        var held = run.Lines.Single(l => l.CustomerId == customer.Id && l.Meter == MeterKind.InputTokens);
        Assert.Equal(ReconciliationStatus.DeadLettered, held.Status);
        Assert.Equal((5L, 0L, 0L, 5L, 0L), (held.Ledger, held.Exported, held.Pending, held.DeadLettered, held.Stripe));
        Assert.Contains("billing dead-letters --retry", held.Action, StringComparison.Ordinal);
        Assert.Equal(ReconciliationStatus.Ok, run.Lines.Single(l => l.CustomerId == customer.Id && l.Meter == MeterKind.OutputTokens).Status);
        Assert.Equal(1, run.Differences);
        Assert.Equal(5, run.DeadLettered);

        // --fix did not pretend: nothing was sent, the bucket is still a dead letter, no correction was made.
        Assert.Equal(0, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
        Assert.Equal(7, billing.Stripe.TotalFor(customer.StripeCustomerId!, output));
        var buckets = await billing.BucketsAsync(customer.Id);
        Assert.DoesNotContain(buckets, b => b.IsCorrection);
        Assert.Equal(ExportStatus.DeadLetter, buckets.Single(b => b.Meter == MeterKind.InputTokens).Status);

        var status = await billing.Admin.StatusAsync(CancellationToken.None);
        Assert.Equal((1L, 5L, 1), (status.DeadLetterBuckets, status.DeadLetterTokens, status.LastReconciliationDifferences));

        var mine = await billing.Admin.CustomerStatusAsync(customer.Id, CancellationToken.None);
        Assert.Equal(1, mine.LastReconciliation!.Differences);
        Assert.Equal(5, mine.LastReconciliation.Lines.Single(l => l.Meter == MeterKind.InputTokens).DeadLettered);
        Assert.Equal(5, mine.Meters.Single(m => m.Meter == MeterKind.InputTokens).Held);

        // The operator fixes the cause and retries: the next reconciliation agrees.
        await billing.Stripe.CreateClient().V1.Billing.Meters.ReactivateAsync(meter.Id);
        Assert.Equal(1, await billing.Exporter.RetryDeadLettersAsync(null, CancellationToken.None));
        await billing.Exporter.RunPassAsync(CancellationToken.None);
        var after = await billing.Reconciler.RunAsync(null, null, correct: false, CancellationToken.None);
        Assert.Equal(0, after.Differences);
        Assert.All(after.Lines, l => Assert.Equal(ReconciliationStatus.Ok, l.Status));
        Assert.Equal(5, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
    }

    public sealed class Sqlite() : DeadLetterReconciliationTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : DeadLetterReconciliationTests(DatabaseOptions.PostgresProvider);
}
