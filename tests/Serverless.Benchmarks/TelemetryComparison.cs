using System.Diagnostics;
using System.Globalization;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>
/// What telemetry costs a request: two service processes over the same database and model, one with everything on
/// (metrics, traces and logs exported over OTLP/HTTP to a sink in this process, /metrics scraped every second), one
/// with <c>Telemetry:Enabled=false</c>, otherwise the same environment. Runs alternate between them, whole and streamed.
/// </summary>
internal static class TelemetryComparison
{
    /// <summary>How often /metrics is scraped (Prometheus's usual interval is longer; once a second is the harsh case).</summary>
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// OTLP metric exports every 10 s: six times the SDK's default (60 s), so several land within the comparison; /metrics
    /// already gives the every-second view an operator would scrape.
    /// </summary>
    public static readonly TimeSpan MetricExportInterval = TimeSpan.FromSeconds(10);

    /// <summary>The OTLP settings of both processes (the "off" one ignores them): http/protobuf, every signal to the sink.</summary>
    public static Dictionary<string, string> OtlpEnvironment(Uri sink) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = ((long)MetricExportInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
    };

    public static async Task RunAsync(
        ServiceConfiguration configuration, string apiKey, string modelId, RunCheck check, BenchmarkArguments arguments, InferenceReport report, CancellationToken cancellationToken)
    {
        using var sink = OtlpSink.Start();
        var otlp = OtlpEnvironment(sink.Endpoint);
        var onEnvironment = With(configuration.WithFreshCache(), otlp);
        var offEnvironment = With(configuration.WithFreshCache(), otlp);
        offEnvironment["Telemetry__Enabled"] = "false";
        // Unless the command line said otherwise, "on" is on (the default, stated so that --server-env cannot turn it off unnoticed).
        onEnvironment["Telemetry__Enabled"] = "true";

        Progress("telemetry: starting a service with telemetry on and one with it off");
        var starting = new[]
        {
            ServiceProcess.StartAsync(arguments.ServerDll, onEnvironment, cancellationToken),
            ServiceProcess.StartAsync(arguments.ServerDll, offEnvironment, cancellationToken),
        };
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var task in starting.Where(t => t.IsCompletedSuccessfully))
            {
                task.Result.Dispose();
            }

            throw;
        }

        using var on = starting[0].Result;
        using var off = starting[1].Result;
        using var onClient = new CompletionClient(on.BaseAddress, apiKey, modelId);
        using var offClient = new CompletionClient(off.BaseAddress, apiKey, modelId);
        using var scraper = new MetricsScraper(on.BaseAddress, configuration.AdminKey, ScrapeInterval);

        // At least one untimed round, so both have loaded the model before the clock runs.
        int warmup = Math.Max(1, arguments.Warmup);
        for (int i = 0; i < warmup + arguments.TelemetryRuns; i++)
        {
            bool timed = i >= warmup;
            if (i == warmup)
            {
                // What exporting costs with no requests at all (scrapes, metric exports, the last spans' batch).
                Progress(string.Create(CultureInfo.InvariantCulture, $"telemetry: both idle for {IdleWindow.TotalSeconds:0} s"));
                report.TelemetryIdleCpu = await IdleCpuAsync(on.ProcessId, off.ProcessId, cancellationToken);
            }

            Progress(timed
                ? string.Create(CultureInfo.InvariantCulture, $"telemetry run {i - warmup + 1}/{arguments.TelemetryRuns}")
                : string.Create(CultureInfo.InvariantCulture, $"telemetry warmup {i + 1}/{warmup}"));

            // off, on in even rounds and on, off in odd ones: neither always runs right after the other's request.
            bool offFirst = i % 2 == 0;
            var (offWhole, onWhole) = await PairAsync(offFirst, () => WholeAsync(offClient, off.ProcessId), () => WholeAsync(onClient, on.ProcessId));
            var (offStream, onStream) = await PairAsync(offFirst, () => StreamAsync(offClient, off.ProcessId), () => StreamAsync(onClient, on.ProcessId));
            if (timed)
            {
                report.TelemetryOff.Add(offWhole);
                report.TelemetryOn.Add(onWhole);
                report.TelemetryStreamOff.Add(offStream);
                report.TelemetryStreamOn.Add(onStream);
            }
        }

        // Spans leave in batches (every 5 s by default): the last requests' spans, and proof that spans were exported at all.
        if (!await sink.WaitForAsync(OtlpSink.Traces, 1, TimeSpan.FromSeconds(15), cancellationToken))
        {
            throw new InvalidOperationException("telemetry: the 'on' service exported no spans to the OTLP sink, so 'on' did not trace.");
        }

        if (!scraper.SawCompletionMetrics)
        {
            throw new InvalidOperationException($"telemetry: no scrape of /metrics carried {MetricsScraper.ExpectedSeries} ({scraper.Scrapes} scrapes, {scraper.Failures} failed).");
        }

        report.TelemetryExport = new TelemetryExport(
            sink.Received(OtlpSink.Traces), sink.Received(OtlpSink.Metrics), sink.Received(OtlpSink.Logs), sink.Refused, scraper.Scrapes, scraper.Failures, scraper.LastBytes);

        async Task<GenerationRun> WholeAsync(CompletionClient client, int pid)
        {
            var cpu = CpuMeter.Start(pid);
            var run = cpu.Stamp(await client.CompleteAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken), includeServer: true);
            check.Verify("telemetry, whole", run);
            return run;
        }

        async Task<GenerationRun> StreamAsync(CompletionClient client, int pid)
        {
            var cpu = CpuMeter.Start(pid);
            var run = cpu.Stamp((await client.StreamAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken)).Run, includeServer: true);
            check.Verify("telemetry, streamed", run);
            return run;
        }
    }

    /// <summary>Long enough to hold a span batch (5 s by default) and several scrapes and metric exports.</summary>
    public static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(5);

    /// <summary>CPU milliseconds per second each process used while no request ran.</summary>
    private static async Task<(double On, double Off)> IdleCpuAsync(int on, int off, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var onBefore = ProcessCpuClock.Read(on);
        var offBefore = ProcessCpuClock.Read(off);
        await Task.Delay(IdleWindow, cancellationToken);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (((ProcessCpuClock.Read(on) - onBefore) ?? TimeSpan.Zero).TotalMilliseconds / seconds,
            ((ProcessCpuClock.Read(off) - offBefore) ?? TimeSpan.Zero).TotalMilliseconds / seconds);
    }

    private static async Task<(GenerationRun Off, GenerationRun On)> PairAsync(bool offFirst, Func<Task<GenerationRun>> off, Func<Task<GenerationRun>> on)
    {
        if (offFirst)
        {
            var offRun = await off();
            return (offRun, await on());
        }

        var onRun = await on();
        return (await off(), onRun);
    }

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string> settings, Dictionary<string, string> more)
    {
        var all = new Dictionary<string, string>(settings);
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return all;
    }
}

/// <summary>What the "on" service exported during the comparison: OTLP requests and bytes per signal, and the scrapes of /metrics.</summary>
internal sealed record TelemetryExport(
    (long Requests, long Bytes) Traces,
    (long Requests, long Bytes) Metrics,
    (long Requests, long Bytes) Logs,
    long SinkRefused,
    long Scrapes,
    long ScrapeFailures,
    long LastScrapeBytes);
