using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Core.Operations;
using Serverless.Core.Tests.Data;
using Serverless.Core.Tests.Metering;

namespace Serverless.Core.Tests.Operations;

/// <summary>
/// The operator overview reads the fleet from the shared ledger: each instance with what its last heartbeat said, and
/// today's (UTC) usage per customer to the token and micro-dollar. Runs on <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract class OperatorOverviewTests(string provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private LedgerServices _ledger = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(provider);
        _ledger = await LedgerServices.StartAsync(_database);
        await _ledger.Prices.SetAsync("demo", 250_000, 900_000, batchDiscountBasisPoints: 5_000, effectiveFrom: null, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _ledger.DisposeAsync();
        await _database.DisposeAsync();
    }

    private OperatorOverview Overview() => new(
        _ledger.Services.GetRequiredService<LedgerConnections>(), _ledger.Services.GetRequiredService<BillingAdmin>(),
        _ledger.Services.GetRequiredService<ExportBacklogReader>(),
        _ledger.Services.GetRequiredService<IOptions<MeteringOptions>>(), _ledger.Clock);

    private Task HeartbeatAsync(InstanceIdentity instance, InstanceLoad? load) =>
        _ledger.Services.GetRequiredService<LedgerWriter>().SubmitAsync(new HeartbeatCommand(instance, _ledger.Clock.GetUtcNow(), load));

    private async Task UseAsync(string requestId, string customer, long prompt, long completion, DateTimeOffset endedAt)
    {
        var admission = await _ledger.Metering.AdmitAsync(new AdmissionRequest
        {
            RequestId = requestId, KeyId = "key_" + customer, CustomerId = customer, Model = "demo", PromptTokens = prompt, MaxTokens = completion,
        });
        Assert.Equal(AdmissionStatus.Admitted, admission.Status);
        await _ledger.Metering.SettleAsync(new SettlementRequest
        {
            Reservation = admission.Reservation!, CompletionTokens = completion, Outcome = UsageOutcome.Completed, EndedAt = endedAt,
        });
    }

    [Fact]
    public async Task Instances_show_their_last_heartbeats_load_and_a_silent_one_is_not_alive()
    {
        var silent = new InstanceIdentity(_ledger.Clock);
        await HeartbeatAsync(silent, null);
        _ledger.Clock.Advance(TimeSpan.FromMinutes(2)); // past DeadInstanceAfter (60 s)
        var busy = new InstanceIdentity(_ledger.Clock);
        await HeartbeatAsync(busy, new InstanceLoad(["demo", "other"], 3, 8, 5));
        _ledger.Clock.Advance(TimeSpan.FromSeconds(4));

        var overview = await Overview().GetAsync(CancellationToken.None);

        Assert.Equal(2, overview.Instances.Count);
        var old = Assert.Single(overview.Instances, i => i.Id == silent.InstanceId);
        Assert.False(old.Alive);
        Assert.Equal(124, old.HeartbeatAgeSeconds);
        Assert.Null(old.ModelsLoaded);
        Assert.Null(old.SlotsInUse);
        var live = Assert.Single(overview.Instances, i => i.Id == busy.InstanceId);
        Assert.True(live.Alive);
        Assert.Equal(4, live.HeartbeatAgeSeconds);
        Assert.Equal(["demo", "other"], live.ModelsLoaded);
        Assert.Equal((3, 8, 5), (live.SlotsInUse, live.Slots, live.Queued));
        Assert.Equal(busy.Machine, live.Machine);

        // An instance silent for more than an hour is no longer listed.
        _ledger.Clock.Advance(OperatorOverview.ListedFor - TimeSpan.FromMinutes(1));
        Assert.Equal([busy.InstanceId], (await Overview().GetAsync(CancellationToken.None)).Instances.Select(i => i.Id));
    }

    [Fact]
    public async Task Todays_usage_per_customer_is_the_ledgers_from_midnight_utc_to_the_micro_dollar()
    {
        var now = _ledger.Clock.GetUtcNow();
        var midnight = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        await UseAsync("req_1", "acme", 10, 40, now);                 // 2.5 + 36 = 38.5 -> 39
        await UseAsync("req_2", "acme", 1_000, 100, now);             // 250 + 90 = 340
        await UseAsync("req_3", "globex", 7, 3, midnight);            // 1.75 + 2.7 = 4.45 -> 4 (midnight counts)
        await UseAsync("req_4", "globex", 500, 500, midnight.AddMilliseconds(-1)); // yesterday

        var today = (await Overview().GetAsync(CancellationToken.None)).Today;

        Assert.Equal(midnight.ToUnixTimeSeconds(), today.Start);
        Assert.Equal(
            [new CustomerToday("acme", 2, 1_010, 140, 39 + 340), new CustomerToday("globex", 1, 7, 3, 4)],
            today.Customers);
        Assert.Equal((3L, 1_017L, 143L, 383L), (today.Requests, today.InputTokens, today.OutputTokens, today.RevenueMicroUsd));
    }

    [Fact]
    public async Task The_export_backlog_ages_from_the_oldest_record_waiting()
    {
        var overview = Overview();
        Assert.Null((await overview.GetAsync(CancellationToken.None)).Export.ExportLagSeconds);

        var ended = _ledger.Clock.GetUtcNow();
        await UseAsync("req_1", "acme", 10, 40, ended);
        await UseAsync("req_2", "acme", 10, 40, ended.AddSeconds(30));
        _ledger.Clock.Advance(TimeSpan.FromSeconds(90));

        var export = (await overview.GetAsync(CancellationToken.None)).Export;
        Assert.Equal(2, export.OutboxRecords);
        Assert.Equal(2, export.RecordsWaiting);
        Assert.Equal(90, export.ExportLagSeconds);
        Assert.Equal(0, export.DeadLetters);
    }

    public sealed class Sqlite() : OperatorOverviewTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : OperatorOverviewTests(DatabaseOptions.PostgresProvider);
}
