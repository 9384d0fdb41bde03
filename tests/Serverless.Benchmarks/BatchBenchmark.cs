using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>
/// The <c>batch</c> mode: a batch of N greedy /v1/completions lines through the Batch API of the local host (its own
/// process, Durable Task hub and files on a private Azurite), timed from sending POST /v1/batches to seeing it
/// completed; against the same N prompts generated directly with the raw GenAI loop in this process, as many at once
/// as the batch runs lines at once (Batch:MaxConcurrentLines). Rounds take turns (direct, then batch); every line of
/// the batch must have exactly the text the raw loop produced for its prompt.
/// </summary>
internal static class BatchBenchmark
{
    public const string Endpoint = "/v1/completions";

    // The untimed batch that warms both sides (model loaded in the service, task hub started, JIT) runs this many chunks
    // of short lines. Tiered JIT promotes a method after 30 calls, and the per-chunk code (Durable Task dispatch, the
    // activity, blob and queue clients) runs once per chunk: with the 3 chunks of a 48-line warmup the service was still
    // compiling through the first timed round, 2-4 s of CPU on the two cores the direct run needs too.
    private const int WarmupChunks = 40;
    private const int WarmupMaxTokens = 8;

    // Often enough that the client sees completion within ~50 ms on average (well under 1 % of a 1,000-line batch), seldom
    // enough that polling costs the service little CPU: at 20 ms the GETs took about a second of the service's CPU per batch.
    public static readonly TimeSpan ClientPollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan BatchTimeout = TimeSpan.FromMinutes(30);

    // Idle: under 10 % of a core over half a second (Durable Task's queue polling alone is about 3 %).
    private static readonly TimeSpan SettleWindow = TimeSpan.FromMilliseconds(500);
    private const double IdleCpuShare = 0.10;
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    public static async Task<BatchReport> RunAsync(BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(arguments.ServerDll))
        {
            throw new InvalidOperationException($"{arguments.ServerDll} does not exist; build src/Serverless.Local or pass --server-dll.");
        }

        string root = Path.Combine(Path.GetTempPath(), "svl-batch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var report = new BatchReport(arguments, ServiceSettings(arguments)) { LoadAverage = (LoadAverage.Read(), double.NaN) };
        try
        {
            await RunInAsync(root, arguments, report, cancellationToken);
            report.LoadAverage = (report.LoadAverage.Start, LoadAverage.Read());
            return report;
        }
        finally
        {
            TryDelete(root);
        }
    }

    /// <summary>The settings the benchmark gives the service: the batch knobs asked for, quiet logs, and the user's --server-env last.</summary>
    public static Dictionary<string, string> ServiceSettings(BenchmarkArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var settings = new Dictionary<string, string> { ["Logging__LogLevel__Default"] = "Warning" };
        Set(settings, "Batch__ChunkSize", arguments.BatchChunkSize);
        Set(settings, "Batch__MaxParallelChunks", arguments.BatchParallelChunks);
        Set(settings, "Batch__MaxConcurrentLines", arguments.BatchConcurrentLines);
        if (arguments.BatchPollIntervalMs is int poll)
        {
            settings["LocalDurableTask__MaxQueuePollingInterval"] = TimeSpan.FromMilliseconds(poll).ToString("c", CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in arguments.ServerEnvironment)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task RunInAsync(string root, BenchmarkArguments arguments, BatchReport report, CancellationToken cancellationToken)
    {
        string modelFolder = Path.Combine(root, "demo-model");
        Progress("starting Azurite and uploading the demo model");
        using var azurite = await DemoModelUpload.StartAsync(modelFolder, arguments.SessionOptions, cancellationToken);
        // The Durable Task hub lives in the same Azurite (queues and tables too), as run.sh sets it up.
        var settings = new Dictionary<string, string>(report.Settings) { ["AzureWebJobsStorage"] = azurite.StorageConnectionString };
        var configuration = new ServiceConfiguration(root, azurite.ConnectionString, DemoModelUpload.ModelId, settings);
        Progress("creating an API key");
        string keyOutput = await ChildProcess.RunAsync("dotnet", [arguments.ServerDll, "keys", "create", "--customer", "bench"], configuration.WithFreshCache(), cancellationToken);
        string apiKey = keyOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();

        string[] prompts = [.. Enumerable.Range(0, arguments.BatchLines).Select(Prompt)];
        int parallel = report.ConcurrentLines;
        using var raw = new RawGenerator(modelFolder);
        using var service = await ServiceProcess.StartAsync(arguments.ServerDll, configuration.WithFreshCache(), cancellationToken);
        using var client = new BatchApiClient(service.BaseAddress, apiKey);
        string database = Path.Combine(root, "serverless.db");

        // Untimed: the first batch waits for the task hub, loads the model into the service from Azurite and JITs the
        // batch path; the first raw lines JIT this side.
        int warmupTokens = Math.Min(arguments.MaxTokens, WarmupMaxTokens);
        string[] warmPrompts = [.. Enumerable.Range(0, WarmupChunks * report.ChunkSize).Select(i => Prompt(i + arguments.BatchLines))];
        Progress(string.Create(CultureInfo.InvariantCulture, $"warmup: a {warmPrompts.Length}-line batch ({WarmupChunks} chunks, max_tokens {warmupTokens}) and as many raw lines"));
        var warmDirect = RunDirect(raw, warmPrompts, warmupTokens, parallel);
        string warmFile = await client.UploadAsync(Jsonl(warmPrompts, warmupTokens), cancellationToken);
        var warmBatch = await RunBatchAsync(client, warmFile, cancellationToken);
        await VerifyAsync(client, warmBatch, warmDirect, cancellationToken);

        string file = await client.UploadAsync(Jsonl(prompts, arguments.MaxTokens), cancellationToken);
        for (int round = 1; round <= arguments.Rounds; round++)
        {
            Progress(string.Create(CultureInfo.InvariantCulture, $"round {round}/{arguments.Rounds}: {prompts.Length} lines directly, {parallel} at once"));
            await SettleAsync(service.ProcessId, cancellationToken);
            var cpu = CpuClocks.Start(service.ProcessId, azurite.ProcessId);
            var direct = RunDirect(raw, prompts, arguments.MaxTokens, parallel) with { Cpu = cpu.Read() };
            Progress(string.Create(CultureInfo.InvariantCulture, $"round {round}/{arguments.Rounds}: direct {direct.Elapsed.TotalSeconds:0.00} s; the same lines as a batch"));
            cpu = CpuClocks.Start(service.ProcessId, azurite.ProcessId);
            var batch = await RunBatchAsync(client, file, cancellationToken) with { Cpu = cpu.Read() };
            await VerifyAsync(client, batch, direct, cancellationToken);
            var phases = ReadPhases(database, batch.BatchId);
            Progress(string.Create(CultureInfo.InvariantCulture, $"round {round}/{arguments.Rounds}: batch {batch.Elapsed.TotalSeconds:0.00} s, ratio {batch.Elapsed / direct.Elapsed:0.000}"));
            report.Rounds.Add(new BatchRound(direct, batch, phases));
        }
    }

    /// <summary>
    /// Waits (at most <see cref="SettleTimeout"/>) until the service is idle: after a batch it goes on compiling tier-1 code
    /// in the background for seconds (3-4 s of CPU after the warmup batch), which would slow the direct run that follows
    /// on the same two cores and flatter the batch.
    /// </summary>
    private static async Task SettleAsync(int servicePid, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var last = ProcessCpuClock.Read(servicePid);
        while (last is not null && Stopwatch.GetElapsedTime(started) < SettleTimeout)
        {
            await Task.Delay(SettleWindow, cancellationToken);
            var now = ProcessCpuClock.Read(servicePid);
            if (now is null || (now - last) < SettleWindow * IdleCpuShare)
            {
                break;
            }

            last = now;
        }

        Progress(string.Create(CultureInfo.InvariantCulture, $"service settled after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s"));
    }

    /// <summary>The prompts, all different (so no two lines are the same work) and of similar length.</summary>
    private static string Prompt(int index) => string.Create(CultureInfo.InvariantCulture, $"Story number {index}: once upon a time, by the sea, a curious child");

    private static byte[] Jsonl(string[] prompts, int maxTokens)
    {
        var text = new StringBuilder();
        for (int i = 0; i < prompts.Length; i++)
        {
            text.Append(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["custom_id"] = CustomId(i),
                ["method"] = "POST",
                ["url"] = Endpoint,
                ["body"] = new Dictionary<string, object> { ["model"] = DemoModelUpload.ModelId, ["prompt"] = prompts[i], ["max_tokens"] = maxTokens, ["temperature"] = 0 },
            })).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string CustomId(int index) => "line-" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The prompts through the raw loop, <paramref name="parallel"/> at once on their own threads over the one model, as the service's lines share it.</summary>
    private static DirectRun RunDirect(RawGenerator raw, string[] prompts, int maxTokens, int parallel)
    {
        var runs = new GenerationRun[prompts.Length];
        int next = -1;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, parallel).Select(_ => Task.Factory.StartNew(() =>
        {
            for (int i = Interlocked.Increment(ref next); i < prompts.Length; i = Interlocked.Increment(ref next))
            {
                runs[i] = raw.Generate(prompts[i], maxTokens);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Task.WaitAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (runs.FirstOrDefault(r => r.CompletionTokens != maxTokens) is { } shortRun)
        {
            throw new InvalidOperationException($"A raw line generated {shortRun.CompletionTokens} tokens instead of {maxTokens}.");
        }

        return new DirectRun(elapsed, runs);
    }

    /// <summary>Creates the batch and polls until it is final; the clock runs from sending the create request to the poll that saw it final.</summary>
    private static async Task<BatchRun> RunBatchAsync(BatchApiClient client, string fileId, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var started = Stopwatch.GetTimestamp();
        string batchId = await client.CreateAsync(fileId, Endpoint, cancellationToken);
        seen["created"] = Stopwatch.GetElapsedTime(started);
        int polls = 0;
        while (true)
        {
            var state = await client.GetAsync(batchId, cancellationToken);
            polls++;
            var now = Stopwatch.GetElapsedTime(started);
            seen.TryAdd(state.Status, now);
            if (state.IsFinal)
            {
                if (state.Status != "completed" || state.Failed != 0 || state.Completed != state.Total)
                {
                    throw new InvalidOperationException($"Batch {batchId} ended {state.Status}: {state.Json}");
                }

                return new BatchRun(batchId, now, state, seen, polls);
            }

            if (now > BatchTimeout)
            {
                throw new InvalidOperationException($"Batch {batchId} did not finish within {BatchTimeout}: {state.Json}");
            }

            await Task.Delay(ClientPollInterval, cancellationToken);
        }
    }

    /// <summary>Every line in the output file, in order of custom_id, with max_tokens tokens and the raw loop's very text for its prompt.</summary>
    private static async Task VerifyAsync(BatchApiClient client, BatchRun batch, DirectRun direct, CancellationToken cancellationToken)
    {
        string[] lines = await client.DownloadLinesAsync(batch.State.OutputFileId ?? throw new InvalidOperationException($"Batch {batch.BatchId} has no output file."), cancellationToken);
        if (lines.Length != direct.Runs.Length)
        {
            throw new InvalidOperationException($"Batch {batch.BatchId}: {lines.Length} output lines for {direct.Runs.Length} requests.");
        }

        var done = new bool[direct.Runs.Length];
        foreach (string line in lines)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            string customId = root.GetProperty("custom_id").GetString()!;
            int index = int.Parse(customId.AsSpan("line-".Length), NumberStyles.None, CultureInfo.InvariantCulture);
            var response = root.GetProperty("response");
            var body = response.GetProperty("body");
            string text = body.GetProperty("choices")[0].GetProperty("text").GetString() ?? string.Empty;
            int tokens = body.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
            var expected = direct.Runs[index];
            if (response.GetProperty("status_code").GetInt32() != 200 || tokens != expected.CompletionTokens || !string.Equals(text, expected.Text, StringComparison.Ordinal) || done[index])
            {
                throw new InvalidOperationException(
                    $"Batch {batch.BatchId}, {customId}: not the raw loop's work ({tokens} tokens, raw {expected.CompletionTokens}).\nraw:   {expected.Text}\nbatch: {text}");
            }

            done[index] = true;
        }
    }

    /// <summary>The service's own timestamps (milliseconds, from its database): the batch's status changes and its lines' ledger times.</summary>
    private static BatchPhases ReadPhases(string database, string batchId)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString);
        connection.Open();
        using var batch = connection.CreateCommand();
        batch.CommandText = """SELECT "CreatedAt", "InProgressAt", "FinalizingAt", "CompletedAt", "Chunks" FROM "Batches" WHERE "Id" = @id""";
        batch.Parameters.AddWithValue("@id", batchId);
        using var row = batch.ExecuteReader();
        if (!row.Read())
        {
            throw new InvalidOperationException($"Batch {batchId} is not in the service's database.");
        }

        using var lines = connection.CreateCommand();
        lines.CommandText = """SELECT MIN("StartedAt"), MAX("EndedAt"), SUM("EndedAt" - "StartedAt"), COUNT(*) FROM "UsageRecords" WHERE "BatchId" = @id""";
        lines.Parameters.AddWithValue("@id", batchId);
        using var records = lines.ExecuteReader();
        records.Read();
        return new BatchPhases(
            row.GetInt64(0), row.GetInt64(1), row.GetInt64(2), row.GetInt64(3), row.GetInt32(4),
            records.GetInt64(0), records.GetInt64(1), records.GetInt64(2), records.GetInt32(3));
    }

    private static void Set(Dictionary<string, string> settings, string key, int? value)
    {
        if (value is int v)
        {
            settings[key] = v.ToString(CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>The prompts generated directly: wall time until the last finished, and each line's run.</summary>
internal sealed record DirectRun(TimeSpan Elapsed, GenerationRun[] Runs)
{
    public ProcessCpu Cpu { get; init; }

    public double MeanLineMs => Runs.Average(r => r.Elapsed.TotalMilliseconds);
}

/// <summary>A batch as the client saw it: from sending the create request to the poll that saw it final, and when each status was first seen.</summary>
internal sealed record BatchRun(string BatchId, TimeSpan Elapsed, BatchState State, IReadOnlyDictionary<string, TimeSpan> FirstSeen, int Polls)
{
    public ProcessCpu Cpu { get; init; }
}

/// <summary>CPU time used by this process (the raw loops, or the polling client), the service and Azurite over one run.</summary>
internal readonly record struct ProcessCpu(TimeSpan Benchmark, TimeSpan Service, TimeSpan Azurite)
{
    public TimeSpan Total => Benchmark + Service + Azurite;
}

/// <summary>The three processes' CPU clocks at the start of a run.</summary>
internal readonly record struct CpuClocks(int ServicePid, int AzuritePid, TimeSpan? Benchmark, TimeSpan? Service, TimeSpan? Azurite)
{
    public static CpuClocks Start(int servicePid, int azuritePid) =>
        new(servicePid, azuritePid, ProcessCpuClock.Read(0), ProcessCpuClock.Read(servicePid), ProcessCpuClock.Read(azuritePid));

    public ProcessCpu Read() => new(
        ProcessCpuClock.Read(0) - Benchmark ?? TimeSpan.Zero,
        ProcessCpuClock.Read(ServicePid) - Service ?? TimeSpan.Zero,
        ProcessCpuClock.Read(AzuritePid) - Azurite ?? TimeSpan.Zero);
}

/// <summary>
/// The service's timestamps for one batch, in Unix milliseconds: status changes (Batches) and the first admission, the
/// last settlement and the summed admission-to-settlement time of its lines (UsageRecords).
/// </summary>
internal sealed record BatchPhases(
    long CreatedAt, long InProgressAt, long FinalizingAt, long CompletedAt, int Chunks, long FirstLineStart, long LastLineEnd, long LineMsSum, int Lines)
{
    /// <summary>Create → validated: the orchestration's start and the validate activity (reading the file, writing the chunks).</summary>
    public long ValidationMs => InProgressAt - CreatedAt;

    /// <summary>Validated → the first line admitted: scheduling the first chunks and reading their blobs.</summary>
    public long FirstLineMs => FirstLineStart - InProgressAt;

    /// <summary>First line admitted → last line settled.</summary>
    public long LinesMs => LastLineEnd - FirstLineStart;

    /// <summary>Last line settled → finalizing: the last chunk's settlement commit, result blob, and the hop back to the orchestration.</summary>
    public long TailMs => FinalizingAt - LastLineEnd;

    /// <summary>Finalizing → completed: merging the chunk results into the output (and error) file.</summary>
    public long FinalizeMs => CompletedAt - FinalizingAt;

    public long TotalMs => CompletedAt - CreatedAt;

    public double MeanLineMs => Lines == 0 ? 0 : (double)LineMsSum / Lines;

    /// <summary>How busy the line slots were between the first line and the last: 1 means a line in every slot all the time.</summary>
    public double SlotUse(int slots) => LinesMs <= 0 ? 0 : LineMsSum / (double)(LinesMs * slots);
}

/// <summary>One round: the direct run, then the batch, and the service's own account of the batch.</summary>
internal sealed record BatchRound(DirectRun Direct, BatchRun Batch, BatchPhases Phases)
{
    public double Ratio => Batch.Elapsed / Direct.Elapsed;

    /// <summary>Batch over direct CPU time; 0 where there is no per-process CPU clock (not Linux).</summary>
    public double CpuRatio => Direct.Cpu.Total > TimeSpan.Zero ? Batch.Cpu.Total / Direct.Cpu.Total : 0;
}
