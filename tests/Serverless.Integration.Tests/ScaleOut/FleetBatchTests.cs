using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>
/// A batch started through the instance that runs its orchestration, which is SIGKILLed mid-run: the survivors take
/// its partition of the shared Durable Task hub over, run the rest and finish the batch, every line once in the files
/// and billed once in the ledger.
/// </summary>
public sealed class FleetBatchTests(BatchFleet fleet, ITestOutputHelper output) : IClassFixture<BatchFleet>
{
    private const int Lines = 24;
    private const int MaxTokens = 256;
    private const string Customer = "fleet-batch";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_batch_whose_instance_is_killed_mid_run_completes_through_the_survivors_with_every_line_once_and_billed_once()
    {
        var watch = Stopwatch.StartNew();
        output.WriteLine($"fleet started in {fleet.StartedIn}");

        // Every instance is a worker of its own in the one task hub, and one of them holds the single partition.
        var workers = await UntilAsync(
            () => Task.FromResult(Enumerable.Range(0, Fleet.Size).Select(fleet.WorkerOf).ToList() is var ids && ids.All(id => id is not null)
                ? ids.Select(id => id!).ToList()
                : null),
            "every instance to start its Durable Task worker");
        Assert.Equal(Fleet.Size, workers.Distinct().Count());
        string owner = await UntilAsync(
            async () => await fleet.PartitionLeaseAsync() is ({ } current, null) && workers.Contains(current) ? current : null,
            "an instance to hold the partition");
        int victim = workers.IndexOf(owner);
        output.WriteLine($"{watch.Elapsed}: host {victim} holds the partition as '{owner}'");

        // A warm fleet: every instance has loaded the model (and this process has built its EF model) before the batch.
        var (key, _) = await fleet.CreateKeyAsync(Customer);
        await Task.WhenAll(fleet.Hosts.Select(async host =>
        {
            using var warm = host.CreateClient(key);
            using var response = await warm.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"Once","max_tokens":1}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }));
        await using (var db = fleet.Database())
        {
            await db.Set<Reservation>().AnyAsync(r => r.BatchId == Customer);
            await db.Set<UsageRecord>().CountAsync(r => r.BatchId == Customer);
        }

        // The batch is created through the instance that runs its orchestration.
        using var client = fleet.Hosts[victim].CreateClient(key);
        var lines = Enumerable.Range(0, Lines).Select(i => BatchCalls.CompletionLine($"line-{i}", MaxTokens, $"Story number {i} begins")).ToList();
        lines.Insert(7, "{ not json");
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        output.WriteLine($"{watch.Elapsed}: batch {batchId} created through host {victim}");

        // Killed mid-run (some lines recorded) while it generates a line of the batch (chunks run on every instance).
        string victimPrefix = fleet.InstancePrefix(victim);
        await UntilAsync(
            async () =>
            {
                await using var db = fleet.Database();
                int recorded = await db.Set<UsageRecord>().CountAsync(r => r.BatchId == batchId);
                if (recorded >= Lines)
                {
                    throw new InvalidOperationException($"The batch finished before its partition holder was seen generating a line.\n{fleet.Output}");
                }

                return recorded >= 4 && await db.Set<Reservation>().AnyAsync(r => r.BatchId == batchId && r.InstanceId.StartsWith(victimPrefix)) ? "yes" : null;
            },
            "the batch to be under way with a line generating on the partition holder");
        fleet.Hosts[victim].Kill();
        List<Reservation> openAtKill;
        List<UsageRecord> recordsAtKill;
        await using (var db = fleet.Database())
        {
            openAtKill = await db.Set<Reservation>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync();
            recordsAtKill = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync();
        }

        output.WriteLine($"{watch.Elapsed}: host {victim} killed with {recordsAtKill.Count} lines recorded and {openAtKill.Count} generating "
            + $"({openAtKill.Count(r => r.InstanceId.StartsWith(victimPrefix, StringComparison.Ordinal))} of them on it)");

        // Its partition lease runs out and a survivor claims it.
        var killed = Stopwatch.StartNew();
        string successor = await UntilAsync(
            async () => await fleet.PartitionLeaseAsync() is ({ } current, _) && current != owner ? current : null,
            "a survivor to take the partition over");
        Assert.Contains(successor, workers.Where((_, i) => i != victim));
        output.WriteLine($"{watch.Elapsed}: '{successor}' took the partition over {killed.Elapsed} after the kill");

        using var survivor = fleet.Hosts[workers.IndexOf(successor)].CreateClient(key);
        var batch = await survivor.WaitUntilDoneAsync(batchId, Deadline, () => fleet.Output);
        output.WriteLine($"{watch.Elapsed}: batch {BatchCalls.Status(batch)} {killed.Elapsed} after the kill");
        var outputs = await survivor.ReadFileLinesAsync(batch.OptionalString("output_file_id"));
        var errors = await survivor.ReadFileLinesAsync(batch.OptionalString("error_file_id"));

        // Mid-run at the kill.
        Assert.NotEmpty(recordsAtKill);
        Assert.True(recordsAtKill.Count < Lines, "the batch had finished before the kill");

        // Every line exactly once: the good ones in the output by custom_id, the bad one in the error file.
        Assert.Equal("completed", BatchCalls.Status(batch));
        Assert.Equal((Lines + 1, Lines, 1), BatchCalls.Counts(batch));
        Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"line-{i}").Order(), outputs.Select(o => o.GetProperty("custom_id").GetString()!).Order());
        Assert.Equal("invalid_json_line", Assert.Single(errors).GetProperty("error").GetProperty("code").GetString());
        var all = outputs.Concat(errors).Select(l => l.GetProperty("id").GetString()).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());

        // Each line billed once, with the usage its output shows; nothing left reserved.
        await using (var db = fleet.Database())
        {
            var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync();
            Assert.Equal(Lines, records.Count);
            foreach (var line in outputs)
            {
                var response = line.GetProperty("response");
                Assert.Equal(200, response.GetProperty("status_code").GetInt32());
                var usage = response.GetProperty("body").GetProperty("usage");
                var record = Assert.Single(records, r => r.RequestId == response.GetProperty("request_id").GetString());
                Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64(), record.PromptTokens);
                Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), record.CompletionTokens);
                Assert.Equal(MaxTokens, record.CompletionTokens);
                Assert.Equal(UsageOutcome.Length, record.Outcome);
            }

            Assert.Empty(await db.Set<Reservation>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync());

            // The lines it was generating were resumed by survivors and billed in full once.
            foreach (var open in openAtKill.Where(r => r.InstanceId.StartsWith(victimPrefix, StringComparison.Ordinal)))
            {
                var record = Assert.Single(records, r => r.RequestId == open.RequestId);
                Assert.False(record.InstanceId.StartsWith(victimPrefix, StringComparison.Ordinal), $"{record.RequestId} was settled by the killed instance");
            }

            var budget = await db.Set<BudgetUsage>().AsNoTracking().Where(b => b.Scope == LimitScope.Customer && b.ScopeId == Customer).ToListAsync();
            Assert.Equal(0, budget.Sum(b => b.ReservedMicroUsd));
            long billed = await db.Set<UsageRecord>().Where(r => r.CustomerId == Customer).SumAsync(r => r.CostMicroUsd);
            Assert.Equal(billed, budget.Sum(b => b.SpentMicroUsd));
            output.WriteLine($"lines settled per instance: {string.Join(", ", records.GroupBy(r => r.InstanceId.Split(':')[1]).Select(g => $"pid {g.Key}: {g.Count()}"))}");
        }
    }

    private Task<T> UntilAsync<T>(Func<Task<T?>> probe, string what) where T : class => fleet.UntilAsync(probe, Deadline, what);
}
