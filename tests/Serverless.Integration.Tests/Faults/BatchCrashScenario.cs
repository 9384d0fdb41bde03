using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;

namespace Serverless.Integration.Tests.Faults;

/// <summary>
/// Runs once for <see cref="BatchCrashTests"/>: the local host as a child process runs a batch on DurableTask.Core over
/// Azurite; once some lines are done and others are generating, the host gets SIGKILL; it starts again over the same
/// database and storage, and the batch finishes. The tests compare the output and error files with the ledger.
/// </summary>
public sealed class BatchCrashScenario : IAsyncLifetime
{
    public const int GoodLines = 40;

    // Long enough that lines are generating at any moment of the run (4 at a time on 2 cores) and one seen generating
    // is still generating when the kill lands (160 tokens once finished in between on a loaded machine), short enough that the
    // whole batch takes seconds.
    public const int MaxTokens = 480;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly CrashHost _host = new("svl-batch-crash", new Dictionary<string, string?>
    {
        // A dead run's orchestration and activity messages come back within seconds rather than minutes.
        ["LocalDurableTask:ControlQueueVisibilityTimeout"] = "00:00:05",
        ["LocalDurableTask:WorkItemQueueVisibilityTimeout"] = "00:00:10",
        ["LocalDurableTask:MaxQueuePollingInterval"] = "00:00:00.200",
        ["Batch:ChunkSize"] = "4",
        ["Batch:MaxParallelChunks"] = "2",
        ["Batch:MaxConcurrentLines"] = "4",
        ["Batch:ProgressInterval"] = "00:00:00.100",
    });

    public string BatchId { get; private set; } = string.Empty;

    public JsonElement Batch { get; private set; }

    public IReadOnlyList<JsonElement> Outputs { get; private set; } = [];

    public IReadOnlyList<JsonElement> Errors { get; private set; } = [];

    /// <summary>The batch's reservations left open by the killed process: lines that were generating at the kill.</summary>
    public IReadOnlyList<Reservation> OpenAtKill { get; private set; } = [];

    /// <summary>The batch's records written before the kill.</summary>
    public IReadOnlyList<UsageRecord> RecordsAtKill { get; private set; } = [];

    public int CrashedProcessId => _host.CrashedProcessId;

    public int RestartedProcessId => _host.RestartedProcessId;

    /// <summary>What happened when, and everything the host printed: for failure messages.</summary>
    public string Report => _host.Report;

    public ServerlessDbContext Database() => _host.Database();

    public async Task InitializeAsync()
    {
        await _host.StartAsync();
        using var client = _host.CreateClient();

        // The first query of this process builds the EF model, which takes longer than the whole batch: pay it now so
        // the poll below sees the lines that generate.
        await using (var warm = Database())
        {
            await warm.Set<Reservation>().AnyAsync(r => r.BatchId == BatchId);
            await warm.Set<UsageRecord>().CountAsync(r => r.BatchId == BatchId);
        }

        var lines = Enumerable.Range(0, GoodLines).Select(i => BatchCalls.CompletionLine($"line-{i}", MaxTokens, $"Story number {i} begins")).ToList();
        lines.Insert(10, "{ not json");
        lines.Insert(20, BatchCalls.CompletionLine("line-3", 5));
        BatchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        _host.Log($"batch {BatchId} created");

        var running = await client.WaitForBatchAsync(BatchId, b => BatchCalls.Counts(b).Completed >= 8, Timeout, "8 completed lines", () => Report);
        _host.Log($"progress before the kill: {running.GetProperty("request_counts")}");

        // Kill while a line is generating: an open reservation (a chunk boundary may leave none for a moment).
        await _host.UntilAsync(
            async db =>
            {
                if (await db.Set<Reservation>().AnyAsync(r => r.BatchId == BatchId))
                {
                    return true;
                }

                var records = await db.Set<UsageRecord>().CountAsync(r => r.BatchId == BatchId);
                if (records >= GoodLines)
                {
                    throw new InvalidOperationException($"No line of the batch was generating to be killed ({records} lines recorded).\n{Report}");
                }

                return false;
            },
            Timeout,
            "a line of the batch to be generating",
            TimeSpan.FromMilliseconds(5));
        _host.Kill();

        await using (var db = Database())
        {
            OpenAtKill = await db.Set<Reservation>().AsNoTracking().Where(r => r.BatchId == BatchId).ToListAsync();
            RecordsAtKill = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == BatchId).ToListAsync();
        }

        _host.Log($"{OpenAtKill.Count} lines reserved and {RecordsAtKill.Count} recorded at the kill");

        await _host.RestartAsync();
        Batch = await client.WaitUntilDoneAsync(BatchId, Timeout, () => Report);
        _host.Log($"batch {Batch.GetProperty("status").GetString()}");
        Outputs = await client.ReadFileLinesAsync(Batch.OptionalString("output_file_id"));
        Errors = await client.ReadFileLinesAsync(Batch.OptionalString("error_file_id"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();
}
