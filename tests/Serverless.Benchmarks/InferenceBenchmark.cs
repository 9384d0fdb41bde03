using System.Diagnostics;
using System.Globalization;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>
/// The <c>inference</c> mode: the raw GenAI loop against the service over loopback HTTP (whole and streamed),
/// same model, prompt, greedy search and token count, interleaved; then aggregate throughput at several
/// concurrency levels; then telemetry on against off (two processes, interleaved); then cold starts (model only in
/// blob storage → first streamed token).
/// </summary>
internal static class InferenceBenchmark
{
    private const string ModelId = DemoModelUpload.ModelId;

    public static async Task<InferenceReport> RunAsync(BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(arguments.ServerDll))
        {
            throw new InvalidOperationException($"{arguments.ServerDll} does not exist; build src/Serverless.Local or pass --server-dll.");
        }

        string root = Path.Combine(Path.GetTempPath(), "svl-bench-" + Guid.NewGuid().ToString("N"));
        double loadAtStart = LoadAverage.Read();
        try
        {
            var report = await RunInAsync(root, arguments, cancellationToken);
            report.LoadAverage = (loadAtStart, LoadAverage.Read());
            return report;
        }
        finally
        {
            TryDelete(root);
        }
    }

    private static async Task<InferenceReport> RunInAsync(string root, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        string modelFolder = Path.Combine(root, "demo-model");
        Progress("starting Azurite and uploading the demo model");
        using var azurite = await DemoModelUpload.StartAsync(modelFolder, arguments.SessionOptions, cancellationToken);

        var configuration = new ServiceConfiguration(root, azurite.ConnectionString, ModelId, arguments.ServerEnvironment);
        Progress("creating an API key");
        string keyOutput = await ChildProcess.RunAsync("dotnet", [arguments.ServerDll, "keys", "create", "--customer", "bench"], configuration.WithFreshCache(), cancellationToken);
        string apiKey = keyOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();

        using var raw = new RawGenerator(modelFolder);
        var reference = raw.Generate(arguments.Prompt, arguments.MaxTokens);
        var check = new RunCheck(reference, arguments.MaxTokens);
        check.Verify("raw", reference);

        var report = new InferenceReport(arguments, reference.PromptTokens);
        using (var service = await ServiceProcess.StartAsync(arguments.ServerDll, configuration.WithFreshCache(), cancellationToken))
        using (var client = new CompletionClient(service.BaseAddress, apiKey, ModelId))
        {
            await CompareAsync(raw, client, service.ProcessId, check, arguments, report, cancellationToken);
            await MeasureConcurrencyAsync(raw, service, apiKey, check, arguments, report, cancellationToken);
        }

        // After the first service has gone, so only the two being compared share the machine.
        if (arguments.TelemetryRuns > 0)
        {
            await TelemetryComparison.RunAsync(configuration, apiKey, ModelId, check, arguments, report, cancellationToken);
        }

        for (int i = 0; i < arguments.ColdRuns; i++)
        {
            Progress(string.Create(CultureInfo.InvariantCulture, $"cold start {i + 1}/{arguments.ColdRuns}"));
            report.ColdStarts.Add(await MeasureColdStartAsync(configuration, apiKey, check, arguments, cancellationToken));
        }

        return report;
    }

    /// <summary>raw, service, stream, raw, service, stream, ...: drift (thermal, other load) hits all three alike.</summary>
    private static async Task CompareAsync(
        RawGenerator raw, CompletionClient client, int serverPid, RunCheck check, BenchmarkArguments arguments, InferenceReport report, CancellationToken cancellationToken)
    {
        for (int i = 0; i < arguments.Warmup + arguments.Runs; i++)
        {
            bool timed = i >= arguments.Warmup;
            Progress(timed
                ? string.Create(CultureInfo.InvariantCulture, $"run {i - arguments.Warmup + 1}/{arguments.Runs}")
                : string.Create(CultureInfo.InvariantCulture, $"warmup {i + 1}/{arguments.Warmup}"));

            var cpu = CpuMeter.Start(serverPid);
            var rawRun = raw.Generate(arguments.Prompt, arguments.MaxTokens);
            rawRun = cpu.Stamp(rawRun, includeServer: false);
            check.Verify("raw", rawRun);

            cpu = CpuMeter.Start(serverPid);
            var serviceRun = await client.CompleteAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken);
            serviceRun = cpu.Stamp(serviceRun, includeServer: true);
            check.Verify("service", serviceRun);

            cpu = CpuMeter.Start(serverPid);
            var streamRun = (await client.StreamAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken)).Run;
            streamRun = cpu.Stamp(streamRun, includeServer: true);
            check.Verify("stream", streamRun);
            if (timed)
            {
                report.Raw.Add(rawRun);
                report.Service.Add(serviceRun);
                report.Stream.Add(streamRun);
            }
        }
    }

    /// <summary>
    /// N requests at once, all non-streaming, and as a baseline N raw loops at once on their own threads (same
    /// model object, one Generator each, as the service does). Every level gets an untimed round first (to open
    /// connections); then raw and service levels take turns, round by round, so a burst of other load on the
    /// machine hits them alike.
    /// </summary>
    private static async Task MeasureConcurrencyAsync(
        RawGenerator raw, ServiceProcess service, string apiKey, RunCheck check, BenchmarkArguments arguments, InferenceReport report, CancellationToken cancellationToken)
    {
        int most = arguments.Levels.Max();
        var clients = Enumerable.Range(0, most).Select(_ => new CompletionClient(service.BaseAddress, apiKey, ModelId)).ToList();
        try
        {
            for (int round = 0; round <= arguments.Rounds; round++)
            {
                Progress(round == 0
                    ? "concurrency warmup"
                    : string.Create(CultureInfo.InvariantCulture, $"concurrency round {round}/{arguments.Rounds}"));
                foreach (int level in arguments.Levels)
                {
                    var rawRound = await TimeRoundAsync(
                        Enumerable.Range(0, level).Select(_ => Task.Factory.StartNew(
                            () => raw.Generate(arguments.Prompt, arguments.MaxTokens), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)),
                        check, $"{level} raw loops at once");
                    var serviceRound = await TimeRoundAsync(
                        clients.Take(level).Select(c => c.CompleteAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken)),
                        check, $"{level} concurrent requests");
                    if (round > 0)
                    {
                        report.AddConcurrencyRound(level, rawRound, serviceRound);
                    }
                }
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    // Starts the runs (the enumeration is lazy), waits for the last, and checks every one.
    private static async Task<ConcurrencyRound> TimeRoundAsync(IEnumerable<Task<GenerationRun>> starting, RunCheck check, string what)
    {
        var started = Stopwatch.GetTimestamp();
        var runs = await Task.WhenAll(starting.ToList());
        var elapsed = Stopwatch.GetElapsedTime(started);
        foreach (var run in runs)
        {
            check.Verify(what, run);
        }

        return new ConcurrencyRound(runs.Sum(r => r.CompletionTokens), elapsed);
    }

    /// <summary>A new process with an empty model cache; the clock runs from sending the first request to its first text chunk.</summary>
    private static async Task<ColdStart> MeasureColdStartAsync(
        ServiceConfiguration configuration, string apiKey, RunCheck check, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        using var service = await ServiceProcess.StartAsync(arguments.ServerDll, configuration.WithFreshCache(), cancellationToken);
        using var client = new CompletionClient(service.BaseAddress, apiKey, ModelId);
        var streamed = await client.StreamAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken);
        check.Verify("cold start", streamed.Run);
        return new ColdStart(service.Startup, streamed.Run.FirstToken, streamed.ModelLoadMilliseconds, streamed.Run.Elapsed);
    }
}
