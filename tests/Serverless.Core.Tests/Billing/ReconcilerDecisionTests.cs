using Microsoft.EntityFrameworkCore;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Tests.Data;
using Stripe.Billing;

namespace Serverless.Core.Tests.Billing;

/// <summary>
/// What the reconciler decides for one customer, meter and day, and what it then does to Stripe: nothing while usage
/// is on its way or the ledger disagrees with its own export state, a supplementary event when Stripe has less,
/// cancelling recent events when it has more, and only a report where Stripe no longer lets a correction land.
/// Customers not linked to Stripe are not reconciled. (Dead letters: <see cref="DeadLetterReconciliationTests"/>;
/// late usage: <see cref="LateUsageTests"/>.) Runs on <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract class ReconcilerDecisionTests(string provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private BillingServices _billing = null!;
    private Customer _customer = null!;
    private string _input = null!;
    private DateTimeOffset _used;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(provider);
        _billing = await BillingServices.StartAsync(_database);
        _customer = await _billing.CustomerAsync("reconcile-co");
        _input = _billing.EventName(MeterKind.InputTokens);
        _used = _billing.Clock.GetUtcNow().AddHours(-2);
    }

    public async Task DisposeAsync()
    {
        await _billing.DisposeAsync();
        await _database.DisposeAsync();
    }

    private long InStripe => _billing.Stripe.TotalFor(_customer.StripeCustomerId!, _input);

    private async Task<ReconciliationResult> ReconcileAsync(bool correct) =>
        await _billing.Reconciler.RunAsync(_used, _billing.Clock.GetUtcNow().AddDays(1), correct, CancellationToken.None);

    private ReconciliationLine Line(ReconciliationResult run, string meter = MeterKind.InputTokens) =>
        run.Lines.Single(l => l.CustomerId == _customer.Id && l.Meter == meter);

    /// <summary>5 input and 7 output tokens used two hours ago, exported: Stripe holds exactly what the ledger does.</summary>
    private async Task ExportedUsageAsync()
    {
        await _billing.SeedUsageAsync(_customer.Id, _used, prompt: 5, completion: 7);
        Assert.Equal(2, (await _billing.Exporter.RunPassAsync(CancellationToken.None)).BucketsAccepted);
        Assert.Equal(5, InStripe);
    }

    /// <summary>Stripe loses the input event (cancelled behind the service's back).</summary>
    private async Task LoseInputEventInStripeAsync()
    {
        var lost = _billing.Stripe.AcceptedEvents.Single(e => e.CustomerId == _customer.StripeCustomerId && e.EventName == _input);
        await _billing.Stripe.CreateClient().V1.Billing.MeterEventAdjustments.CreateAsync(new MeterEventAdjustmentCreateOptions
        {
            EventName = _input,
            Type = "cancel",
            Cancel = new MeterEventAdjustmentCancelOptions { Identifier = lost.Identifier },
        });
        Assert.Equal(0, InStripe);
    }

    /// <summary>Stripe gets 3 input tokens on the usage day that the ledger never had (sent by someone else).</summary>
    private async Task AddInputToStripeAsync()
    {
        await _billing.Stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(new MeterEventCreateOptions
        {
            EventName = _input,
            Identifier = "outside-" + Guid.NewGuid().ToString("N"),
            Timestamp = _used.UtcDateTime,
            Payload = new() { ["stripe_customer_id"] = _customer.StripeCustomerId!, ["value"] = "3" },
        });
        Assert.Equal(8, InStripe);
    }

    private async Task<List<ExportBucket>> InputBucketsAsync() =>
        (await _billing.BucketsAsync(_customer.Id)).Where(b => b.Meter == MeterKind.InputTokens).ToList();

    [Fact]
    public async Task Usage_not_yet_exported_is_pending_and_no_difference_and_fix_sends_nothing()
    {
        await _billing.SeedUsageAsync(_customer.Id, _used, prompt: 5, completion: 7);

        var run = await ReconcileAsync(correct: true);

        foreach (var (meter, tokens) in new[] { (MeterKind.InputTokens, 5L), (MeterKind.OutputTokens, 7L) })
        {
            var line = Line(run, meter);
            Assert.Equal((ReconciliationStatus.PendingExport, tokens, 0L, tokens, 0L, (string?)null), (line.Status, line.Ledger, line.Exported, line.Pending, line.Stripe, line.Action));
        }

        Assert.Equal((0, 0), (run.Differences, run.Corrections));
        Assert.Empty(_billing.Stripe.AcceptedEvents);
        Assert.Empty(await _billing.BucketsAsync(_customer.Id));
    }

    [Fact]
    public async Task A_record_the_export_state_does_not_account_for_is_a_ledger_mismatch_that_fix_leaves_alone()
    {
        // A record without its outbox row or a bucket: the ledger says 5 + 7, export says nothing is exported or pending.
        await _billing.SeedRecordAsync(_customer.Id, _used, prompt: 5, completion: 7);

        var run = await ReconcileAsync(correct: true);

        var line = Line(run);
        Assert.Equal((ReconciliationStatus.LedgerMismatch, 5L, 0L, 0L), (line.Status, line.Ledger, line.Exported, line.Pending));
        Assert.Equal("export state disagrees with the ledger; investigate before billing", line.Action);
        Assert.Equal(ReconciliationStatus.LedgerMismatch, Line(run, MeterKind.OutputTokens).Status);
        Assert.Equal((2, 0), (run.Differences, run.Corrections));
        Assert.Empty(_billing.Stripe.AcceptedEvents);
        Assert.Empty(await _billing.BucketsAsync(_customer.Id));
    }

    [Fact]
    public async Task Stripe_holding_less_than_exported_is_a_mismatch_and_fix_sends_one_supplementary_event_of_the_difference()
    {
        await ExportedUsageAsync();
        await LoseInputEventInStripeAsync();

        var reported = await ReconcileAsync(correct: false);
        var line = Line(reported);
        Assert.Equal((ReconciliationStatus.Mismatch, 5L, 5L, 0L, (string?)null), (line.Status, line.Ledger, line.Exported, line.Stripe, line.Action));
        Assert.Equal(ReconciliationStatus.Ok, Line(reported, MeterKind.OutputTokens).Status);
        Assert.Equal(1, reported.Differences);
        Assert.Equal(0, InStripe);

        var fixedRun = await ReconcileAsync(correct: true);
        line = Line(fixedRun);
        Assert.Equal(ReconciliationStatus.Corrected, line.Status);
        Assert.StartsWith("sent a supplementary event of 5 (svl_fix_", line.Action, StringComparison.Ordinal);
        Assert.Equal((0, 1), (fixedRun.Differences, fixedRun.Corrections));
        Assert.Equal(5, InStripe);
        var correction = Assert.Single(await InputBucketsAsync(), b => b.IsCorrection);
        Assert.Equal((5L, ExportStatus.Accepted), (correction.Value, correction.Status));

        var after = await ReconcileAsync(correct: true);
        Assert.All(after.Lines, l => Assert.Equal(ReconciliationStatus.Ok, l.Status));
        Assert.Equal(5, InStripe);
    }

    [Fact]
    public async Task Stripe_holding_more_than_exported_is_corrected_by_cancelling_recent_events_and_resending_what_was_cancelled_too_much()
    {
        await ExportedUsageAsync();
        await AddInputToStripeAsync();

        var run = await ReconcileAsync(correct: true);

        var line = Line(run);
        Assert.Equal((ReconciliationStatus.Corrected, 5L, 8L), (line.Status, line.Exported, line.Stripe));
        Assert.StartsWith("cancelled 5 in recent events; sent a supplementary event of 2 (svl_fix_", line.Action, StringComparison.Ordinal);
        Assert.Equal(5, InStripe);
        var buckets = await InputBucketsAsync();
        Assert.Equal(ExportStatus.Cancelled, Assert.Single(buckets, b => !b.IsCorrection).Status);
        Assert.Equal(2, Assert.Single(buckets, b => b.IsCorrection).Value);

        var after = await ReconcileAsync(correct: false);
        Assert.Equal((ReconciliationStatus.Ok, 5L, 5L), (Line(after).Status, Line(after).Exported, Line(after).Stripe));
    }

    [Fact]
    public async Task Stripe_holding_more_once_the_events_are_a_day_old_is_reported_since_they_can_no_longer_be_cancelled()
    {
        await ExportedUsageAsync();
        await AddInputToStripeAsync();
        _billing.Clock.Advance(TimeSpan.FromHours(25));

        var run = await ReconcileAsync(correct: true);

        var line = Line(run);
        Assert.Equal(ReconciliationStatus.Mismatch, line.Status);
        Assert.Equal("cannot correct: Stripe has 3 more than exported and only 0 is cancellable (events older than 24 h cannot be cancelled)", line.Action);
        Assert.Equal((1, 0), (run.Differences, run.Corrections));
        Assert.Equal(8, InStripe);
        Assert.Equal(ExportStatus.Accepted, Assert.Single(await InputBucketsAsync()).Status);
    }

    [Fact]
    public async Task A_difference_on_a_day_past_stripes_35_day_window_is_reported_and_not_corrected()
    {
        await ExportedUsageAsync();
        await LoseInputEventInStripeAsync();
        _billing.Clock.Advance(TimeSpan.FromDays(40));

        var run = await ReconcileAsync(correct: true);

        var line = Line(run);
        Assert.Equal((ReconciliationStatus.Mismatch, 5L, 0L), (line.Status, line.Exported, line.Stripe));
        Assert.Equal("cannot correct: the day is outside the 35 days Stripe accepts meter events for", line.Action);
        Assert.Equal(0, InStripe);
        Assert.DoesNotContain(await InputBucketsAsync(), b => b.IsCorrection);
    }

    [Fact]
    public async Task Usage_of_a_customer_not_linked_to_stripe_is_not_reconciled()
    {
        await using (var db = _billing.Database())
        {
            db.Customers.Add(new Customer { Id = "offline-co", Name = "offline-co", CreatedAt = _used });
            await db.SaveChangesAsync();
        }

        await _billing.SeedUsageAsync("offline-co", _used, prompt: 5, completion: 7);
        await ExportedUsageAsync();

        var run = await ReconcileAsync(correct: true);

        Assert.DoesNotContain(run.Lines, l => l.CustomerId == "offline-co");
        Assert.Equal(2, run.Lines.Count);
        Assert.All(run.Lines, l => Assert.Equal(ReconciliationStatus.Ok, l.Status));
        Assert.Equal(2, _billing.Stripe.AcceptedEvents.Count);
    }

    public sealed class Sqlite() : ReconcilerDecisionTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : ReconcilerDecisionTests(DatabaseOptions.PostgresProvider);
}
