using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;

using static Serverless.Core.Tests.Metering.LedgerWorkload;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// PostgreSQL's one-round-trip batches (<see cref="LedgerBatch.OneRoundTrip"/>): admissions and settlements run on the
/// limit policies and prices their writer last saw and count their reservations as deleted, and the batch's only round
/// trip checks all three before it writes. Whatever changed meanwhile (an admin's policy or price, a reservation settled
/// elsewhere) must make the batch run again with its reads and come out as if it had read. PostgreSQL only.
/// </summary>
public sealed class OneRoundTripTests : IAsyncLifetime
{
    private const string KeyId = "key_a";

    private TestDatabase _database = null!;
    private LedgerServices _a = null!;
    private LedgerServices _b = null!;
    private Price _price = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(DatabaseOptions.PostgresProvider);
        _a = await LedgerServices.StartAsync(_database);
        _b = await LedgerServices.StartAsync(_database);
        _price = await SetPriceAsync(_a);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _database.DisposeAsync();
    }

    private LedgerWriter WriterA => _a.Services.GetRequiredService<LedgerWriter>();

    [Fact]
    public async Task Once_the_writer_has_read_a_key_its_admissions_and_settlements_commit_in_one_round_trip_and_count_exactly()
    {
        long oneTripBefore = WriterA.OneRoundTripCommits;
        long spent = 0;
        for (int i = 0; i < 20; i++)
        {
            var admission = await _a.Metering.AdmitAsync(Request($"req_{i:D2}"));
            Assert.Equal(AdmissionStatus.Admitted, admission.Status);
            Assert.Equal(600 - (i + 1), admission.RateLimits!.RemainingRequests);
            var settlement = await _a.Metering.SettleAsync(Settlement(admission.Reservation!, completion: i + 1));
            Assert.True(settlement.SettledHere);
            spent += settlement.CostMicroUsd;
        }

        // Only the first admission had to read the key's and customer's policies and the price.
        Assert.Equal(oneTripBefore + 39, WriterA.OneRoundTripCommits);
        Assert.Equal(0, WriterA.ReadingRetries);
        var budget = await _a.Limits.UsageAsync(LimitScope.Customer, CustomerId, CancellationToken.None);
        Assert.Equal((spent, 0L, 20 * 10 + (20 * 21 / 2L), 0L), (budget!.SpentMicroUsd, budget.ReservedMicroUsd, budget.SpentTokens, budget.ReservedTokens));
        await using var db = _a.Database();
        Assert.Equal(20, await db.Set<UsageRecord>().CountAsync());
        Assert.Equal(20, await db.Set<RateWindow>().Where(w => w.Scope == LimitScope.Key && w.ScopeId == KeyId).SumAsync(w => w.Requests));
    }

    [Fact]
    public async Task A_limit_an_admin_tightened_after_the_writer_saw_the_policy_refuses_the_next_request()
    {
        await _a.Limits.SetAsync(LimitScope.Key, KeyId, requestsPerMinute: 100, tokensPerMinute: null, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        Assert.Equal(AdmissionStatus.Admitted, (await _a.Metering.AdmitAsync(Request("req_1"))).Status);

        // Through the admin API of another instance: this writer still has 100 a minute in its hints.
        await _b.Limits.SetAsync(LimitScope.Key, KeyId, requestsPerMinute: 1, tokensPerMinute: null, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        long retries = WriterA.ReadingRetries;
        var refused = await _a.Metering.AdmitAsync(Request("req_2"));

        Assert.Equal(AdmissionStatus.RateLimited, refused.Status);
        Assert.Equal(retries + 1, WriterA.ReadingRetries);
        await using (var db = _a.Database())
        {
            Assert.Equal(1, await db.Set<RateWindow>().Where(w => w.Scope == LimitScope.Key && w.ScopeId == KeyId).SumAsync(w => w.Requests));
        }

        // And loosened again: the writer's hints say the window is full, the database says it is not.
        await _b.Limits.SetAsync(LimitScope.Key, KeyId, requestsPerMinute: 100, tokensPerMinute: null, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        Assert.Equal(AdmissionStatus.Admitted, (await _a.Metering.AdmitAsync(Request("req_3"))).Status);
    }

    [Fact]
    public async Task A_price_set_after_the_writer_saw_the_old_one_is_the_one_the_next_request_reserves_at()
    {
        var first = await _a.Metering.AdmitAsync(Request("req_1"));
        Assert.Equal(_price.Id, first.Reservation!.PriceVersion);

        _a.Clock.Advance(TimeSpan.FromSeconds(1));
        _b.Clock.Advance(TimeSpan.FromSeconds(1));
        var raised = await _b.Prices.SetAsync(Model, 500_000, 1_800_000, batchDiscountBasisPoints: 0, effectiveFrom: null, CancellationToken.None);
        long retries = WriterA.ReadingRetries;
        var second = await _a.Metering.AdmitAsync(Request("req_2"));

        Assert.Equal(retries + 1, WriterA.ReadingRetries);
        Assert.Equal(raised.Id, second.Reservation!.PriceVersion);
        Assert.Equal(CostCalculator.CostMicroUsd(10, 100, 500_000, 1_800_000), second.Reservation.ReservedMicroUsd);
    }

    [Fact]
    public async Task A_settlement_whose_reservation_another_instance_settled_meanwhile_bills_nothing_twice()
    {
        var admission = await _a.Metering.AdmitAsync(Request("req_1"));
        var reservation = admission.Reservation!;

        // Settled through the other instance, as its sweeper would settle a reservation it believes orphaned.
        Assert.True((await _b.Metering.SettleAsync(Settlement(reservation, completion: 40))).SettledHere);
        long retries = WriterA.ReadingRetries;
        var again = await _a.Metering.SettleAsync(Settlement(reservation, completion: 50));

        Assert.False(again.SettledHere);
        Assert.Equal(40, again.CompletionTokens);
        Assert.Equal(retries + 1, WriterA.ReadingRetries);
        await using var db = _a.Database();
        Assert.Equal(1, await db.Set<UsageRecord>().CountAsync());
        var budget = await _a.Limits.UsageAsync(LimitScope.Customer, CustomerId, CancellationToken.None);
        Assert.Equal((again.CostMicroUsd, 0L, 50L, 0L), (budget!.SpentMicroUsd, budget.ReservedMicroUsd, budget.SpentTokens, budget.ReservedTokens));
    }
}
