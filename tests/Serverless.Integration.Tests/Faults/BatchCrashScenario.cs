using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;

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

    private readonly AzuriteFixture _azurite = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "svl-batch-crash-" + Guid.NewGuid().ToString("N"));
    private readonly Stopwatch _clock = new();
    private readonly List<string> _timeline = [];
    private LocalHostProcess? _host;

    public string ConnectionString => $"Data Source={Path.Combine(_root, "serverless.db")}";

    public string BatchId { get; private set; } = string.Empty;

    public JsonElement Batch { get; private set; }

    public IReadOnlyList<JsonElement> Outputs { get; private set; } = [];

    public IReadOnlyList<JsonElement> Errors { get; private set; } = [];

    /// <summary>The batch's reservations left open by the killed process: lines that were generating at the kill.</summary>
    public IReadOnlyList<Reservation> OpenAtKill { get; private set; } = [];

    /// <summary>The batch's records written before the kill.</summary>
    public IReadOnlyList<UsageRecord> RecordsAtKill { get; private set; } = [];

    public int CrashedProcessId { get; private set; }

    public int RestartedProcessId { get; private set; }

    /// <summary>What happened when, and everything the host printed: for failure messages.</summary>
    public string Report => string.Join('\n', _timeline) + "\nHost output:\n" + _host?.Output;

    public ServerlessDbContext Database() =>
        new(new DbContextOptionsBuilder<ServerlessDbContext>().UseSqlite(ConnectionString).Options);

    public async Task InitializeAsync()
    {
        _clock.Start();
        await _azurite.InitializeAsync();
        Directory.CreateDirectory(_root);
        _host = new LocalHostProcess(new Dictionary<string, string?>
        {
            ["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Admin:Key"] = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)),
            ["Database:ConnectionString"] = ConnectionString,
            ["ModelStorage:BlobConnectionString"] = _azurite.ConnectionString,
            ["ModelStorage:CacheDirectory"] = Path.Combine(_root, "cache"),
            ["AzureWebJobsStorage"] = _azurite.ConnectionString,
            // A dead run's orchestration and activity messages come back within seconds rather than minutes.
            ["LocalDurableTask:ControlQueueVisibilityTimeout"] = "00:00:05",
            ["LocalDurableTask:WorkItemQueueVisibilityTimeout"] = "00:00:10",
            ["LocalDurableTask:MaxQueuePollingInterval"] = "00:00:00.200",
            ["Batch:ChunkSize"] = "4",
            ["Batch:MaxParallelChunks"] = "2",
            ["Batch:MaxConcurrentLines"] = "4",
            ["Batch:ProgressInterval"] = "00:00:00.100",
        });

        string keyFile = Path.Combine(_root, "dev-key");
        var setup = await _host.RunCommandAsync("setup", "--dev-key-file", keyFile);
        if (setup.ExitCode != 0)
        {
            throw new InvalidOperationException($"setup failed ({setup.ExitCode}):\n{setup.Output}");
        }

        await _host.StartAsync();
        CrashedProcessId = _host.ProcessId;
        Log("host started");
        using var client = _host.CreateClient((await File.ReadAllTextAsync(keyFile)).Trim());

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
        Log($"batch {BatchId} created");

        var running = await client.WaitForBatchAsync(BatchId, b => BatchCalls.Counts(b).Completed >= 8, Timeout, "8 completed lines", () => Report);
        Log($"progress before the kill: {running.GetProperty("request_counts")}");

        // Kill while a line is generating: an open reservation (a chunk boundary may leave none for a moment).
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await using (var db = Database())
            {
                if (await db.Set<Reservation>().AnyAsync(r => r.BatchId == BatchId))
                {
                    break;
                }

                var records = await db.Set<UsageRecord>().CountAsync(r => r.BatchId == BatchId);
                if (records >= GoodLines || waited.Elapsed > Timeout)
                {
                    throw new InvalidOperationException($"No line of the batch was generating to be killed ({records} lines recorded after {waited.Elapsed}).\n{Report}");
                }
            }

            await Task.Delay(5);
        }

        _host.Kill();
        Log("host killed (SIGKILL)");

        await using (var db = Database())
        {
            OpenAtKill = await db.Set<Reservation>().AsNoTracking().Where(r => r.BatchId == BatchId).ToListAsync();
            RecordsAtKill = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == BatchId).ToListAsync();
        }

        Log($"{OpenAtKill.Count} lines reserved and {RecordsAtKill.Count} recorded at the kill");

        await _host.StartAsync();
        RestartedProcessId = _host.ProcessId;
        Log("host restarted");
        Batch = await client.WaitUntilDoneAsync(BatchId, Timeout, () => Report);
        Log($"batch {Batch.GetProperty("status").GetString()}");
        Outputs = await client.ReadFileLinesAsync(Batch.OptionalString("output_file_id"));
        Errors = await client.ReadFileLinesAsync(Batch.OptionalString("error_file_id"));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Log(string message) =>
        _timeline.Add(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:F2}s {message}"));
}
