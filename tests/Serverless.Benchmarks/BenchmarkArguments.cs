using System.Globalization;
using System.Reflection;

namespace Serverless.Benchmarks;

/// <summary>Command line of the benchmark console: a mode and a few knobs, all with defaults.</summary>
internal sealed record BenchmarkArguments
{
    public const string Usage = """
        Usage: dotnet run -c Release --project tests/Serverless.Benchmarks -- inference|ledger|billing|batch [options]

        inference: the raw GenAI loop against the service, concurrency, cold start
          --runs N           timed rounds of (raw, service, stream), interleaved       (default 20)
          --warmup N         untimed rounds before them (JIT tiering settles)          (default 30)
          --max-tokens N     completion tokens per request (the demo model never stops) (default 256; ledger: 1)
          --levels a,b,...   concurrent request counts                                  (default 1,2,4,8)
          --rounds N         timed rounds per concurrency level                         (default 5)
          --cold-runs N      fresh service processes for the cold start                 (default 3)
          --telemetry-runs N timed rounds of telemetry off/on (whole and streamed, two processes); 0 skips (default 30)
          --prompt TEXT      the prompt                                                 (default: a fixed sentence)
          --server-dll PATH  the local host to run          (default: the Serverless.Local.dll built with this)
          --server-env KEY=VALUE       an extra environment variable for the service processes (repeatable;
                             e.g. DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0)
          --session-option KEY=VALUE   set model.decoder.session_options.KEY in the demo model's genai_config.json,
                             for raw and service alike (repeatable; e.g. intra_op_num_threads=1,
                             session.intra_op.allow_spinning=0)

        ledger: records/s through the ledger's write path on SQLite and PostgreSQL, and what metering adds to a request
          --records N        timed records (admit + settle) per database                (default 100000)
          --record-warmup N  untimed records before them                                 (default 10000)
          --clients N        concurrent requests driving the ledger                      (default 256)
          --keys N           distinct API keys (client i uses key i mod N)               (default 256)
          --customers N      distinct customers (key k belongs to customer k mod N)      (default 16)
          --instances N      PostgreSQL: writers on one database for the multi-instance load (1: skip) (default 3)
          --batch N          Metering:MaxBatchSize, most operations per commit           (default: the service's, 1024)
          --databases LIST   sqlite,postgres, one of them, or none                       (default sqlite,postgres)
          --requests N       sequential HTTP requests per setting, metering on and off   (default 1000)
          --request-warmup N untimed requests per setting before them                    (default 2000)
          --server-dll, --server-env as for inference

        billing: Stripe usage export, records/s into buckets accepted by a fake Stripe, and Stripe calls per 10,000 requests
          --records N        settled usage records seeded per run                       (default 100000)
          --customers N      customers they belong to                                    (default 20)
          --minutes N        minutes of EndedAt they spread over                         (default 60)

        batch: a batch through the Batch API against the same lines generated directly, at the same parallelism
          --lines N          lines in the batch (/v1/completions, greedy)                (default 1000)
          --max-tokens N     max_tokens per line (the demo model always uses them all)   (default 128)
          --rounds N         rounds of (direct, batch)                                   (default 3)
          --chunk-size N     Batch:ChunkSize                                             (default: the service's, 20)
          --parallel-chunks N  Batch:MaxParallelChunks                                   (default: the service's, 4)
          --concurrent-lines N Batch:MaxConcurrentLines, and the raw loops run at once   (default: the service's, 4)
          --poll-interval MS   LocalDurableTask:MaxQueuePollingInterval in ms            (default: the service's, 500)
          --server-dll, --server-env as for inference
        """;

    public const string DefaultPrompt = "Once upon a time, in a quiet town by the sea, there lived a curious child who";

    public string Mode { get; init; } = "inference";

    public int Runs { get; init; } = 20;

    public int Warmup { get; init; } = 30;

    public int MaxTokens { get; init; } = 256;

    public IReadOnlyList<int> Levels { get; init; } = [1, 2, 4, 8];

    public int Rounds { get; init; } = 5;

    public int ColdRuns { get; init; } = 3;

    /// <summary>inference: timed rounds of the telemetry comparison (off and on, whole and streamed); 0 skips it.</summary>
    public int TelemetryRuns { get; init; } = 30;

    public string Prompt { get; init; } = DefaultPrompt;

    public int LedgerRecords { get; init; } = 100_000;

    public int LedgerWarmup { get; init; } = 10_000;

    public int LedgerClients { get; init; } = 256;

    public int LedgerKeys { get; init; } = 256;

    public int LedgerCustomers { get; init; } = 16;

    /// <summary>ledger: writers on one PostgreSQL database at once for the multi-instance load (1: not measured).</summary>
    public int LedgerInstances { get; init; } = 3;

    /// <summary>Metering:MaxBatchSize for the ledger load; null keeps the service's default.</summary>
    public int? LedgerBatch { get; init; }

    public IReadOnlyList<string> Databases { get; init; } = ["sqlite", "postgres"];

    /// <summary>Minutes of EndedAt the billing mode's records spread over.</summary>
    public int BillingMinutes { get; init; } = 60;

    public int BatchLines { get; init; } = 1000;

    /// <summary>Batch:ChunkSize; null keeps the service's default.</summary>
    public int? BatchChunkSize { get; init; }

    /// <summary>Batch:MaxParallelChunks; null keeps the service's default.</summary>
    public int? BatchParallelChunks { get; init; }

    /// <summary>Batch:MaxConcurrentLines, which the direct run matches; null keeps the service's default (4).</summary>
    public int? BatchConcurrentLines { get; init; }

    /// <summary>LocalDurableTask:MaxQueuePollingInterval in milliseconds; null keeps the service's default.</summary>
    public int? BatchPollIntervalMs { get; init; }

    public int LatencyRequests { get; init; } = 1000;

    // Enough for the service's request path to reach tier-1 JIT code; with a few hundred, the p99 still shows tiering.
    public int LatencyWarmup { get; init; } = 2000;

    public string ServerDll { get; init; } = DefaultServerDll();

    public IReadOnlyDictionary<string, string> SessionOptions { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> ServerEnvironment { get; init; } = new Dictionary<string, string>();

    public static BenchmarkArguments Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var parsed = new BenchmarkArguments { Mode = args[0] };
        parsed = parsed.Mode switch
        {
            // Metering latency wants the shortest generation the service allows: one token.
            "ledger" => parsed with { MaxTokens = 1 },
            "billing" => parsed with { LedgerCustomers = 20 },
            // A realistic batch line (a short answer, a summary, a classification with reasoning) is a hundred tokens or
            // more; with 128, 1,000 lines take about 25 s directly on two cores, so three rounds fit in a few minutes.
            "batch" => parsed with { MaxTokens = 128, Rounds = 3 },
            _ => parsed,
        };

        for (int i = 1; i < args.Count; i++)
        {
            string name = args[i];
            string value = i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            parsed = name switch
            {
                "--runs" => parsed with { Runs = Positive(name, value) },
                "--warmup" => parsed with { Warmup = Positive(name, value, allowZero: true) },
                "--max-tokens" => parsed with { MaxTokens = Positive(name, value) },
                "--levels" => parsed with { Levels = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => Positive(name, v))] },
                "--rounds" => parsed with { Rounds = Positive(name, value) },
                "--cold-runs" => parsed with { ColdRuns = Positive(name, value, allowZero: true) },
                "--telemetry-runs" => parsed with { TelemetryRuns = Positive(name, value, allowZero: true) },
                "--prompt" => parsed with { Prompt = value.Length > 0 ? value : throw new ArgumentException("--prompt must not be empty.") },
                "--server-dll" => parsed with { ServerDll = Path.GetFullPath(value) },
                "--session-option" => parsed with { SessionOptions = With(parsed.SessionOptions, name, value) },
                "--server-env" => parsed with { ServerEnvironment = With(parsed.ServerEnvironment, name, value) },
                "--records" => parsed with { LedgerRecords = Positive(name, value) },
                "--record-warmup" => parsed with { LedgerWarmup = Positive(name, value, allowZero: true) },
                "--clients" => parsed with { LedgerClients = Positive(name, value) },
                "--keys" => parsed with { LedgerKeys = Positive(name, value) },
                "--customers" => parsed with { LedgerCustomers = Positive(name, value) },
                "--instances" => parsed with { LedgerInstances = Positive(name, value) },
                "--batch" => parsed with { LedgerBatch = Positive(name, value) },
                "--databases" => parsed with { Databases = DatabasesOf(value) },
                "--requests" => parsed with { LatencyRequests = Positive(name, value, allowZero: true) },
                "--request-warmup" => parsed with { LatencyWarmup = Positive(name, value, allowZero: true) },
                "--minutes" => parsed with { BillingMinutes = Positive(name, value) },
                "--lines" => parsed with { BatchLines = Positive(name, value) },
                "--chunk-size" => parsed with { BatchChunkSize = Positive(name, value) },
                "--parallel-chunks" => parsed with { BatchParallelChunks = Positive(name, value) },
                "--concurrent-lines" => parsed with { BatchConcurrentLines = Positive(name, value) },
                "--poll-interval" => parsed with { BatchPollIntervalMs = Positive(name, value) },
                _ => throw new ArgumentException($"unknown option '{name}'."),
            };
        }

        if (parsed.Levels.Count == 0)
        {
            throw new ArgumentException("--levels needs at least one level.");
        }

        return parsed;
    }

    private static string[] DatabasesOf(string value)
    {
        if (value == "none")
        {
            return [];
        }

        string[] databases = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return databases.Length > 0 && databases.All(d => d is "sqlite" or "postgres") && databases.Distinct().Count() == databases.Length
            ? databases
            : throw new ArgumentException($"--databases takes sqlite, postgres, both or none, not '{value}'.");
    }

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string> options, string name, string value)
    {
        int equals = value.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new ArgumentException($"{name} takes KEY=VALUE, not '{value}'.");
        }

        return new Dictionary<string, string>(options) { [value[..equals]] = value[(equals + 1)..] };
    }

    private static int Positive(string name, string value, bool allowZero = false) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && (n > 0 || (allowZero && n == 0))
            ? n
            : throw new ArgumentException($"{name} must be a {(allowZero ? "non-negative" : "positive")} whole number, not '{value}'.");

    // The project builds Serverless.Local with the same configuration and records where its dll lands.
    private static string DefaultServerDll() =>
        typeof(BenchmarkArguments).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ServerlessLocalDll")?.Value ?? "Serverless.Local.dll";
}
