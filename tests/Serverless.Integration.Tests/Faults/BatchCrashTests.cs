using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;
using Xunit.Abstractions;

namespace Serverless.Integration.Tests.Faults;

/// <summary>
/// A batch across a hard crash of the local host (see <see cref="BatchCrashScenario"/>): the orchestration survives,
/// every line ends up exactly once in the output or error file, and each successful line is billed exactly once.
/// </summary>
public sealed class BatchCrashTests : IClassFixture<BatchCrashScenario>
{
    private readonly BatchCrashScenario _scenario;

    public BatchCrashTests(BatchCrashScenario scenario, ITestOutputHelper output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _scenario = scenario;
        output.WriteLine(scenario.Report);
    }

    private async Task<List<UsageRecord>> RecordsAsync()
    {
        await using var db = _scenario.Database();
        return await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == _scenario.BatchId).ToListAsync();
    }

    [Fact]
    public void The_batch_completes_after_the_restart_with_every_line_exactly_once_in_the_output_or_error_file()
    {
        Assert.Equal("completed", BatchCalls.Status(_scenario.Batch));
        Assert.Equal((BatchCrashScenario.GoodLines + 2, BatchCrashScenario.GoodLines, 2), BatchCalls.Counts(_scenario.Batch));
        Assert.Equal(BatchCrashScenario.GoodLines, _scenario.Outputs.Count);
        Assert.Equal(2, _scenario.Errors.Count);

        // Every line once: the good ones by custom_id in the output, the two bad ones (by their ids) in the error file.
        Assert.Equal(
            Enumerable.Range(0, BatchCrashScenario.GoodLines).Select(i => $"line-{i}").Order(),
            _scenario.Outputs.Select(o => o.GetProperty("custom_id").GetString()!).Order());
        Assert.Equal(
            _scenario.Outputs.Concat(_scenario.Errors).Count(),
            _scenario.Outputs.Concat(_scenario.Errors).Select(l => l.GetProperty("id").GetString()).Distinct().Count());
        Assert.Equal(["duplicate_custom_id", "invalid_json_line"], _scenario.Errors.Select(e => e.GetProperty("error").GetProperty("code").GetString()).Order());
        Assert.All(_scenario.Outputs, o =>
        {
            var usage = o.GetProperty("response").GetProperty("body").GetProperty("usage");
            Assert.Equal(BatchCrashScenario.MaxTokens, usage.GetProperty("completion_tokens").GetInt32());
        });
    }

    [Fact]
    public async Task The_ledger_has_exactly_one_record_per_successful_line_with_the_usage_its_output_shows()
    {
        var records = await RecordsAsync();
        Assert.Equal(_scenario.Outputs.Count, records.Count);
        foreach (var output in _scenario.Outputs)
        {
            var response = output.GetProperty("response");
            var usage = response.GetProperty("body").GetProperty("usage");
            var record = Assert.Single(records, r => r.RequestId == response.GetProperty("request_id").GetString());
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64(), record.PromptTokens);
            Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), record.CompletionTokens);
            Assert.Equal(UsageOutcome.Length, record.Outcome);
        }

        await using var db = _scenario.Database();
        Assert.Empty(await db.Set<Reservation>().AsNoTracking().ToListAsync());

        // The stored output lines are dropped after the batch is marked done (its files hold them by then): wait for it.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (await db.Set<Serverless.Core.Jobs.BatchLineResult>().AsNoTracking().AnyAsync())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the finished batch's stored output lines were never dropped");
            await Task.Delay(100);
        }

        var budget = await db.Set<BudgetUsage>().AsNoTracking().Where(b => b.Scope == LimitScope.Customer && b.ScopeId == "dev").ToListAsync();
        Assert.Equal(0, budget.Sum(b => b.ReservedMicroUsd));
        Assert.Equal(records.Sum(r => r.CostMicroUsd), budget.Sum(b => b.SpentMicroUsd));
    }

    [Fact]
    public async Task Lines_generating_at_the_kill_were_resumed_by_the_restarted_host_and_billed_once()
    {
        // The kill came mid-batch: lines were done, and others were generating (their reservations left open).
        Assert.NotEmpty(_scenario.RecordsAtKill);
        Assert.True(_scenario.RecordsAtKill.Count < BatchCrashScenario.GoodLines, "The batch had finished before the kill.");
        Assert.NotEmpty(_scenario.OpenAtKill);
        Assert.All(_scenario.OpenAtKill, r => Assert.StartsWith(CrashHost.InstancePrefix(_scenario.CrashedProcessId), r.InstanceId, StringComparison.Ordinal));

        var records = await RecordsAsync();
        foreach (var before in _scenario.RecordsAtKill)
        {
            // Settled before the kill: its chunk ran again after the restart, and the record was neither replaced nor doubled.
            var record = Assert.Single(records, r => r.RequestId == before.RequestId);
            Assert.Equal((before.Id, before.CompletionTokens, before.CostMicroUsd), (record.Id, record.CompletionTokens, record.CostMicroUsd));
        }

        foreach (var open in _scenario.OpenAtKill)
        {
            // Generating at the kill: taken over by the new process, generated in full, one record (not a failed_after_start one).
            var record = Assert.Single(records, r => r.RequestId == open.RequestId);
            Assert.StartsWith(CrashHost.InstancePrefix(_scenario.RestartedProcessId), record.InstanceId, StringComparison.Ordinal);
            Assert.Equal(BatchCrashScenario.MaxTokens, record.CompletionTokens);
            Assert.Equal(UsageOutcome.Length, record.Outcome);
        }

        Assert.Contains("resuming the reservation of an earlier attempt", _scenario.Report, StringComparison.Ordinal);
    }
}
