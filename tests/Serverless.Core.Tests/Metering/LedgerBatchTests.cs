using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Data;
using Serverless.Core.Http;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;

using static Serverless.Core.Tests.Metering.LedgerWorkload;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// The group-commit writer with many commands per transaction: on PostgreSQL a batch locks and reads its rows in one
/// round trip, decides in memory and writes with one statement per table (<see cref="PostgresPrefetch"/>,
/// <see cref="PostgresWrites"/>); on SQLite it decides in memory under the write lock. Either way the money, tokens
/// and rate windows must come out exact, with several writers on one database too, and a batch that fails part way
/// must leave nothing of itself. Runs on <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract class LedgerBatchTests(string provider) : IAsyncLifetime
{

    private TestDatabase _database = null!;
    private LedgerServices _ledger = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(provider);
        _ledger = await LedgerServices.StartAsync(_database);
        await SetPriceAsync(_ledger);
    }

    public async Task DisposeAsync()
    {
        await _ledger.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Hundreds_of_concurrent_admissions_and_settlements_sharing_transactions_are_exact_to_the_micro_usd_token_and_request()
    {
        // The customer's budget fits exactly 60 worst cases; key_a may make 15 requests a minute, key_b and key_c more.
        await _ledger.Limits.SetAsync(LimitScope.Customer, CustomerId, null, null, spendCapMicroUsd: 60 * Reserved, tokenCap: null, CancellationToken.None);
        await _ledger.Limits.SetAsync(LimitScope.Key, "key_a", requestsPerMinute: 15, tokensPerMinute: null, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        var writer = _ledger.Services.GetRequiredService<LedgerWriter>();
        long commitsBefore = writer.Commits;
        long commandsBefore = writer.CommandsCommitted;

        string[] keys = ["key_a", "key_b", "key_c"];
        var admissions = await Task.WhenAll(Enumerable.Range(0, 150).Select(i =>
            Task.Run(() => _ledger.Metering.AdmitAsync(Request($"req_{i:D3}", keys[i % 3])))));

        var admitted = admissions.Where(a => a.Status == AdmissionStatus.Admitted).Select(a => a.Reservation!).ToList();
        Assert.Equal(60, admitted.Count);
        Assert.All(admissions.Where(a => a.Status != AdmissionStatus.Admitted), a => Assert.True(
            a.Status is AdmissionStatus.InsufficientQuota or AdmissionStatus.RateLimited, $"{a.Status} {a.Reason}"));
        int admittedA = admitted.Count(r => r.KeyId == "key_a");
        Assert.InRange(admittedA, 0, 15);
        Assert.Equal(Math.Min(15, admissions.Where((_, i) => i % 3 == 0).Count(a => a.Status == AdmissionStatus.Admitted)), admittedA);
        Assert.True(writer.CommandsCommitted - commandsBefore > writer.Commits - commitsBefore, "no transaction carried more than one command");
        Assert.Equal((0L, 60 * Reserved, 0L, 60 * 110L), await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal((60L, 60 * 110L), await _ledger.WindowAsync(LimitScope.Customer, CustomerId));
        foreach (string key in keys)
        {
            long count = admitted.Count(r => r.KeyId == key);
            Assert.Equal(count == 0 ? null : (0L, count * Reserved, 0L, count * 110L), await _ledger.BudgetAsync(LimitScope.Key, key));
            Assert.Equal(count == 0 ? null : (count, count * 110L), await _ledger.WindowAsync(LimitScope.Key, key));
        }

        // One transaction with settlements and admissions: every admitted request settled twice (the second must find
        // it settled), then 60 more requests, of which exactly those fit that the settlements freed.
        long spent = admitted.Select((_, i) => Cost(i % 100 + 1)).Sum();
        long spentTokens = admitted.Select((_, i) => 10L + (i % 100 + 1)).Sum();
        int fit = (int)Math.Min(60, (60 * Reserved - spent) / Reserved);
        Assert.InRange(fit, 1, 59);
        using var gate = new GateCommand();
        var held = writer.SubmitAsync(gate);
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var settling = admitted.SelectMany((r, i) => new[] { r, r }.Select(reservation => _ledger.Metering.SettleAsync(Settlement(reservation, completion: i % 100 + 1)))).ToList();
        var more = Enumerable.Range(150, 60).Select(i => _ledger.Metering.AdmitAsync(Request($"req_{i:D3}", "key_b"))).ToList();
        long commits = writer.Commits;
        gate.Release();
        await held;
        var settlements = await Task.WhenAll(settling);
        var later = (await Task.WhenAll(more)).Where(a => a.Status == AdmissionStatus.Admitted).Select(a => a.Reservation!).ToList();
        Assert.Equal(commits + 2, writer.Commits);

        Assert.Equal(60, settlements.Count(s => s.SettledHere));
        Assert.All(admitted, r => Assert.Single(settlements, s => s.RequestId == r.RequestId && s.SettledHere));
        Assert.Equal(spent, settlements.Where(s => s.SettledHere).Sum(s => s.CostMicroUsd));
        Assert.Equal((spent, later.Count * Reserved, spentTokens, later.Count * 110L), await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal(fit, later.Count);
        Assert.Equal((60L + later.Count, spentTokens + later.Count * 110L), await _ledger.WindowAsync(LimitScope.Customer, CustomerId));

        await using var db = _ledger.Database();
        Assert.Equal(60, await db.Set<UsageRecord>().CountAsync());
        Assert.Equal(spent, await db.Set<UsageRecord>().SumAsync(r => r.CostMicroUsd));
        Assert.Equal(later.Select(r => r.RequestId).Order().ToList(), await db.Set<Reservation>().Select(r => r.RequestId).OrderBy(id => id).ToListAsync());
    }

    [Fact]
    public async Task Two_writers_on_one_database_admitting_against_one_budget_at_once_never_overspend_it()
    {
        await using var other = await LedgerServices.StartAsync(_database);
        await _ledger.Limits.SetAsync(LimitScope.Customer, CustomerId, null, null, spendCapMicroUsd: 40 * Reserved, tokenCap: null, CancellationToken.None);
        Assert.NotEqual(_ledger.Metering.InstanceId, other.Metering.InstanceId);

        var admissions = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            Task.Run(() => (i % 2 == 0 ? _ledger : other).Metering.AdmitAsync(Request($"req_{i:D3}", $"key_{i % 4}")))));

        var admitted = admissions.Where(a => a.Status == AdmissionStatus.Admitted).Select(a => a.Reservation!).ToList();
        Assert.Equal(40, admitted.Count);
        Assert.All(admissions.Where(a => a.Status != AdmissionStatus.Admitted), a => Assert.Equal(AdmissionStatus.InsufficientQuota, a.Status));
        Assert.Equal((0L, 40 * Reserved, 0L, 40 * 110L), await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal((40L, 40 * 110L), await _ledger.WindowAsync(LimitScope.Customer, CustomerId));

        // Each writer settles the reservations its instance holds; the budget comes out at exactly what was billed.
        var settlements = await Task.WhenAll(admitted.Select(r => Task.Run(() =>
            (r.InstanceId == _ledger.Metering.InstanceId ? _ledger : other).Metering.SettleAsync(Settlement(r, completion: 40)))));
        Assert.All(settlements, s => Assert.True(s.SettledHere));
        Assert.Equal((40 * Cost(40), 0L, 40 * 50L, 0L), await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal((40L, 40 * 50L), await _ledger.WindowAsync(LimitScope.Customer, CustomerId));
    }

    [Fact]
    public async Task A_statement_failing_in_the_middle_of_a_batch_fails_every_command_of_it_and_leaves_nothing_of_them()
    {
        var writer = _ledger.Services.GetRequiredService<LedgerWriter>();
        var settled = (await _ledger.Metering.AdmitAsync(Request("req_settle", "key_a"))).Reservation!;
        var duplicate = (await _ledger.Metering.AdmitAsync(Request("req_dup", "key_a"))).Reservation!;
        var budgetBefore = await _ledger.BudgetAsync(LimitScope.Customer, CustomerId);
        var windowBefore = await _ledger.WindowAsync(LimitScope.Customer, CustomerId);

        // Hold the writer in a transaction of its own while the next batch queues up behind it: admissions, a
        // settlement, and in their middle an admission under a request id that already has a reservation (its insert
        // violates the primary key).
        using var gate = new GateCommand();
        var held = writer.SubmitAsync(gate);
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var first = Enumerable.Range(0, 10).Select(i => _ledger.Metering.AdmitAsync(Request($"req_a{i}", "key_b"))).ToList();
        var settlement = _ledger.Metering.SettleAsync(Settlement(settled, completion: 40));
        var failing = _ledger.Metering.AdmitAsync(Request(duplicate.RequestId, "key_b"));
        var last = Enumerable.Range(0, 10).Select(i => _ledger.Metering.AdmitAsync(Request($"req_b{i}", "key_c"))).ToList();
        gate.Release();
        await held;

        foreach (var task in first.Concat(last).Append(failing).Cast<Task>().Append(settlement))
        {
            var refused = await Assert.ThrowsAsync<ApiException>(() => task);
            Assert.Equal(503, refused.Status);
        }

        // Nothing of the batch: no new reservation or record, the settled one still open, budgets and windows as before.
        await using (var db = _ledger.Database())
        {
            Assert.Equal(["req_dup", "req_settle"], await db.Set<Reservation>().Select(r => r.RequestId).OrderBy(id => id).ToListAsync());
            Assert.Equal(0, await db.Set<UsageRecord>().CountAsync());
        }

        Assert.Equal(budgetBefore, await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal(windowBefore, await _ledger.WindowAsync(LimitScope.Customer, CustomerId));
        Assert.Null(await _ledger.BudgetAsync(LimitScope.Key, "key_b"));
        Assert.Null(await _ledger.WindowAsync(LimitScope.Key, "key_c"));

        // The writer goes on with a fresh transaction: the settlement and a new admission now commit.
        Assert.True((await _ledger.Metering.SettleAsync(Settlement(settled, completion: 40))).SettledHere);
        Assert.Equal(AdmissionStatus.Admitted, (await _ledger.Metering.AdmitAsync(Request("req_c", "key_b"))).Status);
        Assert.Equal((Cost(40), 2 * Reserved, 50L, 220L), await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
    }

    public sealed class Sqlite() : LedgerBatchTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : LedgerBatchTests(DatabaseOptions.PostgresProvider);
}
