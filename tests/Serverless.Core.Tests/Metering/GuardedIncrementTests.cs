using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;

using static Serverless.Core.Tests.Metering.LedgerWorkload;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// PostgreSQL's guarded path (<see cref="LedgerBatch.Guarded"/>): a batch reads and locks no rate window or budget before
/// its commands run, decides on what its writer last saw, and adds its net change to each row just before the commit,
/// guarded by the limits as the row is then. Several writers (instances) on one database, each with its own hints: the
/// counts must come out exact, no limit may be broken, a guard that fails or a refusal on stale hints must send the
/// batch to the locking path, and the writers must never deadlock. PostgreSQL only (SQLite has one writer).
/// </summary>
public sealed class GuardedIncrementTests : IAsyncLifetime
{

    private readonly List<LedgerServices> _writers = [];
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(DatabaseOptions.PostgresProvider);
        for (int i = 0; i < 3; i++)
        {
            _writers.Add(await LedgerServices.StartAsync(_database));
        }

        await SetPriceAsync(_writers[0]);
    }

    public async Task DisposeAsync()
    {
        foreach (var writer in _writers)
        {
            await writer.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private LedgerServices A => _writers[0];

    private LedgerServices B => _writers[1];

    private static LedgerWriter Writer(LedgerServices ledger) => ledger.Services.GetRequiredService<LedgerWriter>();

    [Fact]
    public async Task Three_writers_admitting_and_settling_on_shared_rows_without_locks_count_every_request_token_and_micro_usd()
    {
        // Limits far out of reach: every batch stays on the guarded path.
        await A.Limits.SetAsync(LimitScope.Customer, CustomerId, 1_000_000, 1_000_000_000, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        string[] keys = ["key_0", "key_1", "key_2", "key_3"];
        foreach (string key in keys)
        {
            await A.Limits.SetAsync(LimitScope.Key, key, 1_000_000, 1_000_000_000, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        }

        // 4 rounds of 75 requests per writer at once, every writer on every key: each round's admissions, then its
        // settlements (with the next round's admissions in flight on the other writers).
        var requests = Enumerable.Range(0, 300).Select(i => (Writer: _writers[i % 3], Id: $"req_{i:D3}", Key: keys[i / 3 % 4], Completion: (long)(i % 100 + 1))).ToList();
        await Task.WhenAll(requests.Select(r => Task.Run(async () =>
        {
            var admission = await r.Writer.Metering.AdmitAsync(Request(r.Id, r.Key));
            Assert.Equal(AdmissionStatus.Admitted, admission.Status);
            Assert.True((await r.Writer.Metering.SettleAsync(Settlement(admission.Reservation!, r.Completion))).SettledHere);
        })));

        long spent = requests.Sum(r => Cost(r.Completion));
        long tokens = requests.Sum(r => 10 + r.Completion);
        Assert.Equal((spent, 0L, tokens, 0L), await A.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal((300L, tokens), await A.WindowAsync(LimitScope.Customer, CustomerId));
        foreach (string key in keys)
        {
            var mine = requests.Where(r => r.Key == key).ToList();
            Assert.Equal((mine.Sum(r => Cost(r.Completion)), 0L, mine.Sum(r => 10 + r.Completion), 0L), await A.BudgetAsync(LimitScope.Key, key));
            Assert.Equal(((long)mine.Count, mine.Sum(r => 10 + r.Completion)), await A.WindowAsync(LimitScope.Key, key));
        }

        await using (var db = A.Database())
        {
            Assert.Equal(300, await db.Set<UsageRecord>().CountAsync());
            Assert.Equal(0, await db.Set<Reservation>().CountAsync());
        }

        foreach (var writer in _writers.Select(Writer))
        {
            Assert.True(writer.GuardedCommits > 0, "no transaction took the guarded path");
            Assert.Equal(0, writer.LockingRetries);
            Assert.Equal(0, writer.ConflictRetries);
        }
    }

    [Fact]
    public async Task Three_writers_admitting_against_one_budget_at_once_never_overspend_it_and_never_deadlock()
    {
        await A.Limits.SetAsync(LimitScope.Customer, CustomerId, 1_000_000, 1_000_000_000, spendCapMicroUsd: 100 * Reserved, tokenCap: null, CancellationToken.None);

        var admissions = await Task.WhenAll(Enumerable.Range(0, 240).Select(i =>
            Task.Run(() => _writers[i % 3].Metering.AdmitAsync(Request($"req_{i:D3}", $"key_{i % 8}")))));

        var admitted = admissions.Where(a => a.Status == AdmissionStatus.Admitted).Select(a => a.Reservation!).ToList();
        Assert.Equal(100, admitted.Count);
        Assert.All(admissions.Where(a => a.Status != AdmissionStatus.Admitted), a => Assert.Equal(AdmissionStatus.InsufficientQuota, a.Status));
        Assert.Equal((0L, 100 * Reserved, 0L, 100 * 110L), await A.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal((100L, 100 * 110L), await A.WindowAsync(LimitScope.Customer, CustomerId));

        // Settled where they were admitted, while the same writers try 60 more that fit only in what the settlements free.
        var settling = admitted.Select((r, i) => Task.Run(() => _writers.Single(w => w.Metering.InstanceId == r.InstanceId).Metering.SettleAsync(Settlement(r, completion: 40))));
        var more = Enumerable.Range(240, 60).Select(i => Task.Run(() => _writers[i % 3].Metering.AdmitAsync(Request($"req_{i:D3}", $"key_{i % 8}")))).ToList();
        Assert.All(await Task.WhenAll(settling), s => Assert.True(s.SettledHere));
        var later = (await Task.WhenAll(more)).Where(a => a.Status == AdmissionStatus.Admitted).ToList();
        var (spentCost, reservedCost, _, _) = (await A.BudgetAsync(LimitScope.Customer, CustomerId))!.Value;
        Assert.Equal(100 * Cost(40), spentCost);
        Assert.Equal(later.Count * Reserved, reservedCost);
        Assert.True(spentCost + reservedCost <= 100 * Reserved, $"overspent: {spentCost} spent + {reservedCost} reserved");
        Assert.All(_writers.Select(Writer), writer => Assert.Equal(0, writer.ConflictRetries));
    }

    [Fact]
    public async Task A_guard_failing_on_a_budget_another_writer_filled_rolls_the_batch_back_and_the_locking_path_admits_exactly_what_fits()
    {
        await A.Limits.SetAsync(LimitScope.Customer, CustomerId, 1_000_000, 1_000_000_000, spendCapMicroUsd: 100 * Reserved, tokenCap: null, CancellationToken.None);
        var writerA = Writer(A);

        // A sees the budget at one reservation; B then reserves 97 more, which A does not see.
        Assert.Equal(AdmissionStatus.Admitted, (await A.Metering.AdmitAsync(Request("req_a0"))).Status);
        await Task.WhenAll(Enumerable.Range(0, 97).Select(i => Task.Run(async () =>
            Assert.Equal(AdmissionStatus.Admitted, (await B.Metering.AdmitAsync(Request($"req_b{i:D2}", "key_b"))).Status))));
        long guardedBefore = writerA.GuardedCommits;
        long retriesBefore = writerA.LockingRetries;

        // Five admissions in one batch of A: on A's hints they fit easily, so the batch takes the guarded path; the
        // budget's guard fails in the database (98 + 5 > 100), and the locking path admits exactly two.
        using var gate = new GateCommand();
        var held = Writer(A).SubmitAsync(gate);
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        var batch = Enumerable.Range(1, 5).Select(i => A.Metering.AdmitAsync(Request($"req_a{i}"))).ToList();
        gate.Release();
        await held;
        var answers = await Task.WhenAll(batch);

        Assert.Equal(2, answers.Count(a => a.Status == AdmissionStatus.Admitted));
        Assert.Equal(3, answers.Count(a => a.Status == AdmissionStatus.InsufficientQuota));
        Assert.Equal(retriesBefore + 1, writerA.LockingRetries);
        Assert.Equal(guardedBefore, writerA.GuardedCommits);
        Assert.Equal((0L, 100 * Reserved, 0L, 100 * 110L), await A.BudgetAsync(LimitScope.Customer, CustomerId));
        await using var db = A.Database();
        Assert.Equal(100, await db.Set<Reservation>().CountAsync());
    }

    [Fact]
    public async Task A_request_refused_on_stale_hints_is_decided_again_under_locks_and_admitted_into_what_settlements_elsewhere_freed()
    {
        await A.Limits.SetAsync(LimitScope.Customer, CustomerId, 1_000_000, 1_000_000_000, spendCapMicroUsd: 10 * Reserved, tokenCap: null, CancellationToken.None);
        var writerA = Writer(A);

        // B reserves nine, A the tenth: A last saw the budget full.
        var reservations = new List<Reservation>();
        for (int i = 0; i < 9; i++)
        {
            reservations.Add((await B.Metering.AdmitAsync(Request($"req_b{i}", "key_b"))).Reservation!);
        }

        Assert.Equal(AdmissionStatus.Admitted, (await A.Metering.AdmitAsync(Request("req_a0"))).Status);
        long retriesBefore = writerA.LockingRetries;

        // B settles five (small completions): the budget has room again, but A's hints still say full.
        foreach (var reservation in reservations.Take(5))
        {
            Assert.True((await B.Metering.SettleAsync(Settlement(reservation, completion: 1))).SettledHere);
        }

        var admission = await A.Metering.AdmitAsync(Request("req_a1"));

        Assert.Equal(AdmissionStatus.Admitted, admission.Status);
        Assert.Equal(retriesBefore + 1, writerA.LockingRetries);
        Assert.Equal((5 * Cost(1), 6 * Reserved, 5 * 11L, 6 * 110L), await A.BudgetAsync(LimitScope.Customer, CustomerId));
    }

    [Fact]
    public async Task Rate_limit_headers_on_the_guarded_path_count_the_requests_other_writers_admitted_in_the_same_minute()
    {
        await A.Limits.SetAsync(LimitScope.Key, "key_h", requestsPerMinute: 100, tokensPerMinute: 100_000, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);
        await A.Limits.SetAsync(LimitScope.Customer, CustomerId, 1_000_000, 1_000_000_000, spendCapMicroUsd: null, tokenCap: null, CancellationToken.None);

        var first = await A.Metering.AdmitAsync(Request("req_1", "key_h"));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(AdmissionStatus.Admitted, (await B.Metering.AdmitAsync(Request($"req_b{i}", "key_h"))).Status);
        }

        long guardedBefore = Writer(A).GuardedCommits;
        var fifth = await A.Metering.AdmitAsync(Request("req_5", "key_h"));

        Assert.Equal(guardedBefore + 1, Writer(A).GuardedCommits);
        Assert.Equal(99, first.RateLimits!.RemainingRequests);
        Assert.Equal(95, fifth.RateLimits!.RemainingRequests);
        Assert.Equal(100_000 - (5 * 110), fifth.RateLimits.RemainingTokens);
    }
}
