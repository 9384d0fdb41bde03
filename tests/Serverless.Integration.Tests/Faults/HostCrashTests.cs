using Microsoft.EntityFrameworkCore;
using Serverless.Core.Metering;
using Xunit.Abstractions;

namespace Serverless.Integration.Tests.Faults;

/// <summary>
/// The ledger across a hard crash of the local host with 20 streams in flight (see <see cref="HostCrashScenario"/>):
/// what the clients saw and what the ledger says agree, and nothing stays reserved.
/// </summary>
public sealed class HostCrashTests : IClassFixture<HostCrashScenario>
{
    private readonly HostCrashScenario _scenario;

    public HostCrashTests(HostCrashScenario scenario, ITestOutputHelper output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _scenario = scenario;
        // Shown with a failing test: the timeline and everything both runs of the host printed.
        output.WriteLine(scenario.Report);
    }

    private async Task<List<UsageRecord>> RecordsAsync()
    {
        await using var db = _scenario.Database();
        return await db.Set<UsageRecord>().AsNoTracking().ToListAsync();
    }

    private async Task<Dictionary<long, Price>> PricesAsync()
    {
        await using var db = _scenario.Database();
        return await db.Set<Price>().AsNoTracking().ToDictionaryAsync(p => p.Id);
    }

    private static long CostOf(UsageRecord record, Dictionary<long, Price> prices, long completionTokens)
    {
        var price = prices[record.PriceVersion];
        return CostCalculator.CostMicroUsd(record.PromptTokens, completionTokens, price.InputMicroUsdPerMillion, price.OutputMicroUsdPerMillion);
    }

    [Fact]
    public async Task Every_request_the_client_saw_complete_has_exactly_one_record_with_the_usage_the_client_received()
    {
        var records = await RecordsAsync();
        var prices = await PricesAsync();
        var seen = _scenario.CompletedBeforeCrash.Select(u => (Usage: u, Pid: _scenario.CrashedProcessId))
            .Append((Usage: _scenario.CompletedAfterRestart, Pid: _scenario.RestartedProcessId));
        foreach (var (usage, pid) in seen)
        {
            var record = Assert.Single(records, r => r.RequestId == usage.RequestId);
            Assert.Equal(usage.PromptTokens, record.PromptTokens);
            Assert.Equal(usage.CompletionTokens, record.CompletionTokens);
            Assert.Equal(usage.FinishReason == "length" ? UsageOutcome.Length : UsageOutcome.Completed, record.Outcome);
            Assert.Equal(CostOf(record, prices, record.CompletionTokens), record.CostMicroUsd);
            Assert.StartsWith(CrashHost.InstancePrefix(pid), record.InstanceId, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Every_stream_in_flight_at_the_kill_is_settled_by_the_restarted_host_as_failed_after_start_billing_the_prompt_only()
    {
        // A stream that reached [DONE] was not in flight at the kill, and would prove nothing here.
        Assert.All(_scenario.Interrupted, s => Assert.False(s.SawDone, $"Stream {s.RequestId} completed before the kill."));
        Assert.All(_scenario.Interrupted, s => Assert.True(s.ContentChunks > 0));
        Assert.Equal(HostCrashScenario.InFlightStreams, _scenario.Interrupted.Select(s => s.RequestId).Distinct().Count());

        var records = await RecordsAsync();
        var prices = await PricesAsync();
        long promptTokens = _scenario.CompletedBeforeCrash[0].PromptTokens;
        foreach (var stream in _scenario.Interrupted)
        {
            var record = Assert.Single(records, r => r.RequestId == stream.RequestId);
            Assert.Equal(UsageOutcome.FailedAfterStart, record.Outcome);
            Assert.Equal(promptTokens, record.PromptTokens);
            Assert.Equal(0, record.CompletionTokens);
            Assert.Equal(CostOf(record, prices, 0), record.CostMicroUsd);
            Assert.True(record.CostMicroUsd > 0, "The prompt of an interrupted request is billed.");
            Assert.StartsWith(CrashHost.InstancePrefix(_scenario.RestartedProcessId), record.InstanceId, StringComparison.Ordinal);
        }

        await using var db = _scenario.Database();
        Assert.Contains(await db.Set<LedgerInstance>().AsNoTracking().ToListAsync(),
            i => i.ProcessId == _scenario.CrashedProcessId && i.Machine == Environment.MachineName);
    }

    [Fact]
    public async Task Nothing_stays_reserved_and_spend_and_rate_windows_equal_the_records()
    {
        var records = await RecordsAsync();
        int retries = _scenario.IdempotentRetry.SawDone ? 1 : 0;
        Assert.Equal(_scenario.CompletedBeforeCrash.Count + HostCrashScenario.InFlightStreams + 1 + retries, records.Count);

        await using var db = _scenario.Database();
        Assert.Empty(await db.Set<Reservation>().AsNoTracking().ToListAsync());
        string keyId = Assert.Single(records.Select(r => r.KeyId).Distinct());
        string customerId = Assert.Single(records.Select(r => r.CustomerId).Distinct());
        Assert.Equal("dev", customerId);
        foreach (var (scope, id) in new[] { (LimitScope.Key, keyId), (LimitScope.Customer, customerId) })
        {
            var budgets = await db.Set<BudgetUsage>().AsNoTracking().Where(b => b.Scope == scope && b.ScopeId == id).ToListAsync();
            Assert.NotEmpty(budgets);
            Assert.All(budgets, b => Assert.Equal((0L, 0L), (b.ReservedMicroUsd, b.ReservedTokens)));
            Assert.Equal(records.Sum(r => r.CostMicroUsd), budgets.Sum(b => b.SpentMicroUsd));
            Assert.Equal(records.Sum(r => r.PromptTokens + r.CompletionTokens), budgets.Sum(b => b.SpentTokens));

            // Rate windows count actual tokens: what the interrupted streams reserved (prompt + max_tokens) was given back.
            var windows = await db.Set<RateWindow>().AsNoTracking().Where(w => w.Scope == scope && w.ScopeId == id).ToListAsync();
            Assert.Equal(records.Sum(r => r.PromptTokens + r.CompletionTokens), windows.Sum(w => w.Tokens));
        }
    }

    [Fact]
    public async Task A_retry_with_the_idempotency_key_of_an_interrupted_request_runs_again_after_the_restart()
    {
        var retry = _scenario.IdempotentRetry;
        Assert.True(retry is { SawDone: true, Usage: not null }, $"The retry did not complete: {retry.Failure}");
        var original = _scenario.Interrupted[0];
        Assert.NotEqual(original.RequestId, retry.RequestId);
        Assert.Equal(HostCrashScenario.LongMaxTokens, retry.Usage!.CompletionTokens);

        var records = await RecordsAsync();
        Assert.Equal(UsageOutcome.FailedAfterStart, Assert.Single(records, r => r.RequestId == original.RequestId).Outcome);
        var record = Assert.Single(records, r => r.RequestId == retry.RequestId);
        Assert.Equal((retry.Usage.PromptTokens, retry.Usage.CompletionTokens, UsageOutcome.Length), (record.PromptTokens, record.CompletionTokens, record.Outcome));
    }
}
