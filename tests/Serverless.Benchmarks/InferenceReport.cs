using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>What the inference mode measured: a readable table, then one JSON object as the last line.</summary>
internal sealed class InferenceReport(BenchmarkArguments arguments, int promptTokens)
{
    public const double RatioTarget = 0.95;
    public const double StreamRatioTarget = 0.90;
    public const int ScalingLevel = 4;
    public const double ScalingTarget = 1.5;

    /// <summary>Telemetry on ÷ off tokens/s (issue 18): everything exported should cost at most 2%.</summary>
    public const double TelemetryRatioTarget = 0.98;

    // Before the run the load is other work's; by its end the benchmark itself has added 1-2 on a 2-core machine.
    private const double BusyAtEnd = 3.0;

    public List<GenerationRun> Raw { get; } = [];

    public List<GenerationRun> Service { get; } = [];

    public List<GenerationRun> Stream { get; } = [];

    public SortedDictionary<int, List<ConcurrencyRound>> Concurrency { get; } = [];

    /// <summary>The same levels as raw loops on their own threads: what the hardware allows without the service.</summary>
    public SortedDictionary<int, List<ConcurrencyRound>> RawConcurrency { get; } = [];

    /// <summary>The machine's 1-minute load average when the benchmark started and ended: other work skews every number.</summary>
    public (double Start, double End) LoadAverage { get; set; }

    public List<ColdStart> ColdStarts { get; } = [];

    /// <summary>The telemetry comparison's whole runs on the service with <c>Telemetry:Enabled=false</c>.</summary>
    public List<GenerationRun> TelemetryOff { get; } = [];

    /// <summary>Its whole runs on the service exporting metrics, traces and logs (paired with <see cref="TelemetryOff"/> by index).</summary>
    public List<GenerationRun> TelemetryOn { get; } = [];

    public List<GenerationRun> TelemetryStreamOff { get; } = [];

    public List<GenerationRun> TelemetryStreamOn { get; } = [];

    /// <summary>What the "on" service exported; null when the comparison was skipped.</summary>
    public TelemetryExport? TelemetryExport { get; set; }

    /// <summary>CPU ms per second of the on and off services while idle (between warmup and the timed rounds).</summary>
    public (double On, double Off) TelemetryIdleCpu { get; set; }

    private bool HasTelemetry => TelemetryOn.Count > 0;

    /// <summary>The median over rounds of on/off within a round, as <see cref="Ratio"/> pairs service and raw.</summary>
    public double TelemetryRatio => PairedRatio(TelemetryOn, TelemetryOff);

    public double TelemetryStreamRatio => PairedRatio(TelemetryStreamOn, TelemetryStreamOff);

    public double RawTps => Median(Raw.Select(r => r.TokensPerSecond));

    public double ServiceTps => Median(Service.Select(r => r.TokensPerSecond));

    public double StreamTps => Median(Stream.Select(r => r.TokensPerSecond));

    /// <summary>
    /// The median over rounds of service/raw within a round. The two runs of a round ran back to back, so they
    /// met the same conditions; the median of these pairs shrugs off drift and bursts of other load better
    /// than a ratio of two medians taken across all rounds.
    /// </summary>
    public double Ratio => PairedRatio(Service);

    public double StreamRatio => PairedRatio(Stream);

    /// <summary>The median round's aggregate throughput: every token of the round over its wall time.</summary>
    public double ConcurrentTps(int level) => Median(Concurrency[level].Select(r => r.TokensPerSecond));

    public double RawConcurrentTps(int level) => Median(RawConcurrency[level].Select(r => r.TokensPerSecond));

    /// <summary>Aggregate throughput at <paramref name="level"/> over one request at a time (the level-1 row, else the service median).</summary>
    public double Scaling(int level) =>
        ConcurrentTps(level) / (Concurrency.ContainsKey(1) ? ConcurrentTps(1) : ServiceTps);

    public void AddConcurrencyRound(int level, ConcurrencyRound raw, ConcurrencyRound service)
    {
        Add(RawConcurrency, raw);
        Add(Concurrency, service);

        void Add(SortedDictionary<int, List<ConcurrencyRound>> rounds, ConcurrencyRound round)
        {
            if (!rounds.TryGetValue(level, out var list))
            {
                rounds[level] = list = [];
            }

            list.Add(round);
        }
    }

    public double RawScaling(int level) =>
        RawConcurrentTps(level) / (RawConcurrency.ContainsKey(1) ? RawConcurrentTps(1) : RawTps);

    public double? ColdStartMs => ColdStarts.Count == 0 ? null : Median(ColdStarts.Select(c => c.FirstToken.TotalMilliseconds));

    public void Print(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Table());
        output.WriteLine(Json());
    }

    public string Table()
    {
        var text = new StringBuilder();
        Line(text, $"Inference benchmark: model 'demo', {promptTokens} prompt tokens, {arguments.MaxTokens} completion tokens per request, greedy");
        Line(text, $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {RuntimeInformation.OSDescription}; client GC {(GCSettings.IsServerGC ? "server" : "workstation")}");
        Line(text, $"{arguments.Runs} timed runs each, interleaved raw/service/stream after {arguments.Warmup} warmup rounds; load average {LoadAverage.Start:0.00} at start, {LoadAverage.End:0.00} at end");
        BusyWarning(text, LoadAverage, BusyAtEnd, "cpu ms/run");

        foreach (var (key, value) in arguments.SessionOptions)
        {
            Line(text, $"session option (raw and service): {key}={value}");
        }

        foreach (var (key, value) in arguments.ServerEnvironment)
        {
            Line(text, $"service environment: {key}={value}");
        }

        text.AppendLine();
        Line(text, $"{"path",-24} {"tok/s p50",10} {"min",9} {"max",9} {"ms/run p50",11} {"1st token ms",13} {"cpu ms/run",11} {"(service)",10}");
        Row(text, "raw GenAI loop", Raw);
        Row(text, "service, whole", Service);
        Row(text, "service, streamed", Stream);
        text.AppendLine();
        Line(text, $"service/raw          {Ratio,6:0.000}   target >= {RatioTarget:0.00}  {Verdict(Ratio >= RatioTarget)}   (median of per-round ratios; ratio of medians {ServiceTps / RawTps:0.000})");
        Line(text, $"stream/raw           {StreamRatio,6:0.000}   target >= {StreamRatioTarget:0.00}  {Verdict(StreamRatio >= StreamRatioTarget)}   (median of per-round ratios; ratio of medians {StreamTps / RawTps:0.000})");
        Line(text, $"cpu per run, raw/service {CpuMs(Raw) / CpuMs(Service),6:0.000}, raw/stream {CpuMs(Raw) / CpuMs(Stream),6:0.000} (client and service process together)");
        text.AppendLine();

        if (Concurrency.Count > 0)
        {
            Line(text, $"{"concurrent requests",-20} {"aggregate tok/s",16} {"x one",7} {"per request tok/s",18} {"raw loops tok/s",16} {"x one",7} {"service/raw",12}   (median of {arguments.Rounds} rounds)");
            foreach (int level in Concurrency.Keys)
            {
                string target = level == ScalingLevel ? $"   target >= {ScalingTarget:0.0}x  {Verdict(Scaling(level) >= ScalingTarget)}" : string.Empty;
                Line(text, $"{level,-20} {ConcurrentTps(level),16:0.0} {Scaling(level),6:0.00}x {ConcurrentTps(level) / level,18:0.0} {RawConcurrentTps(level),16:0.0} {RawScaling(level),6:0.00}x {ConcurrentTps(level) / RawConcurrentTps(level),12:0.000}{target}");
            }

            text.AppendLine();
        }

        if (HasTelemetry)
        {
            Line(text, $"telemetry: two service processes, same database and model, {TelemetryOn.Count} timed rounds of (off, on) whole then streamed, order alternating, after {Math.Max(1, arguments.Warmup)} warmup rounds");
            Line(text, $"  on: metrics, traces and logs over OTLP/HTTP to a local sink (metrics every {TelemetryComparison.MetricExportInterval.TotalSeconds:0} s), /metrics scraped every {TelemetryComparison.ScrapeInterval.TotalSeconds:0} s; off: Telemetry:Enabled=false");
            Line(text, $"{"path",-24} {"tok/s p50",10} {"min",9} {"max",9} {"ms/run p50",11} {"1st token ms",13} {"cpu ms/run",11} {"(service)",10}");
            Row(text, "telemetry off, whole", TelemetryOff);
            Row(text, "telemetry on, whole", TelemetryOn);
            Row(text, "telemetry off, streamed", TelemetryStreamOff);
            Row(text, "telemetry on, streamed", TelemetryStreamOn);
            Line(text, $"telemetry on/off     {TelemetryRatio,6:0.000}   target >= {TelemetryRatioTarget:0.00}  {Verdict(TelemetryRatio >= TelemetryRatioTarget)}   (median of per-round ratios; ratio of medians {Tps(TelemetryOn) / Tps(TelemetryOff):0.000})");
            Line(text, $"streamed on/off      {TelemetryStreamRatio,6:0.000}   target >= {TelemetryRatioTarget:0.00}  {Verdict(TelemetryStreamRatio >= TelemetryRatioTarget)}   (median of per-round ratios; ratio of medians {Tps(TelemetryStreamOn) / Tps(TelemetryStreamOff):0.000})");
            Line(text, $"service cpu per run, on/off {ServerCpuMs(TelemetryOn) / ServerCpuMs(TelemetryOff),6:0.000} whole, {ServerCpuMs(TelemetryStreamOn) / ServerCpuMs(TelemetryStreamOff),6:0.000} streamed; idle, cpu ms per s: on {TelemetryIdleCpu.On:0.0}, off {TelemetryIdleCpu.Off:0.0}");
            if (TelemetryExport is { } export)
            {
                Line(text, $"  exported: traces {export.Traces.Requests} requests / {export.Traces.Bytes} bytes, metrics {export.Metrics.Requests} / {export.Metrics.Bytes}, logs {export.Logs.Requests} / {export.Logs.Bytes}; /metrics scraped {export.Scrapes} times ({export.ScrapeFailures} failed, last {export.LastScrapeBytes} bytes)");
            }

            text.AppendLine();
        }

        if (ColdStarts.Count > 0)
        {
            Line(text, $"cold start: a fresh service process, model only in Azurite, first request streamed");
            Line(text, $"{"",-8} {"process up ms",14} {"1st token ms",13} {"model load ms",14} {"whole run ms",13}");
            for (int i = 0; i < ColdStarts.Count; i++)
            {
                var c = ColdStarts[i];
                Line(text, $"{"run " + (i + 1).ToString(CultureInfo.InvariantCulture),-8} {c.ProcessStart.TotalMilliseconds,14:0} {c.FirstToken.TotalMilliseconds,13:0} {(c.ModelLoadMilliseconds?.ToString(CultureInfo.InvariantCulture) ?? "-"),14} {c.Total.TotalMilliseconds,13:0}");
            }

            Line(text, $"{"median",-8} {Median(ColdStarts.Select(c => c.ProcessStart.TotalMilliseconds)),14:0} {ColdStartMs,13:0} {ModelLoadMs,14:0} {Median(ColdStarts.Select(c => c.Total.TotalMilliseconds)),13:0}");
            text.AppendLine();
        }

        return text.ToString();
    }

    public string Json() => JsonLine(arguments.Mode, LoadAverage, json =>
    {
        json.WriteString("model", "demo");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("max_tokens", arguments.MaxTokens);
        json.WriteNumber("runs", arguments.Runs);
        json.WriteNumber("raw_tps", Round(RawTps, 1));
        json.WriteNumber("service_tps", Round(ServiceTps, 1));
        json.WriteNumber("stream_tps", Round(StreamTps, 1));
        json.WriteNumber("ratio", Round(Ratio, 3));
        json.WriteNumber("stream_ratio", Round(StreamRatio, 3));
        json.WriteNumber("raw_cpu_ms", Round(CpuMs(Raw), 2));
        json.WriteNumber("service_cpu_ms", Round(CpuMs(Service), 2));
        json.WriteNumber("service_server_cpu_ms", Round(ServerCpuMs(Service), 2));
        json.WriteNumber("stream_cpu_ms", Round(CpuMs(Stream), 2));
        json.WriteNumber("stream_server_cpu_ms", Round(ServerCpuMs(Stream), 2));
        json.WriteNumber("stream_chunks", Median(Stream.Select(r => (double)r.Chunks)));
        json.WriteNumber("stream_first_token_ms", Round(Median(Stream.Select(r => r.FirstToken.TotalMilliseconds)), 2));
        json.WriteStartObject("concurrent_tps");
        foreach (int level in Concurrency.Keys)
        {
            json.WriteNumber(level.ToString(CultureInfo.InvariantCulture), Round(ConcurrentTps(level), 1));
        }

        json.WriteEndObject();
        json.WriteStartObject("raw_concurrent_tps");
        foreach (int level in RawConcurrency.Keys)
        {
            json.WriteNumber(level.ToString(CultureInfo.InvariantCulture), Round(RawConcurrentTps(level), 1));
        }

        json.WriteEndObject();
        json.WriteStartObject("concurrent_scaling");
        foreach (int level in Concurrency.Keys)
        {
            json.WriteNumber(level.ToString(CultureInfo.InvariantCulture), Round(Scaling(level), 3));
        }

        json.WriteEndObject();
        WriteNullable(json, "cold_start_ms", ColdStartMs, 0);
        WriteNullable(json, "cold_model_load_ms", ModelLoadMs, 0);
        WriteNullable(json, "cold_process_start_ms", ColdStarts.Count == 0 ? null : Median(ColdStarts.Select(c => c.ProcessStart.TotalMilliseconds)), 0);
        if (HasTelemetry)
        {
            json.WriteNumber("telemetry_runs", TelemetryOn.Count);
            json.WriteNumber("telemetry_on_tokens_per_s", Round(Tps(TelemetryOn), 1));
            json.WriteNumber("telemetry_off_tokens_per_s", Round(Tps(TelemetryOff), 1));
            json.WriteNumber("telemetry_ratio", Round(TelemetryRatio, 3));
            json.WriteNumber("telemetry_ratio_target", TelemetryRatioTarget);
            json.WriteNumber("telemetry_stream_on_tokens_per_s", Round(Tps(TelemetryStreamOn), 1));
            json.WriteNumber("telemetry_stream_off_tokens_per_s", Round(Tps(TelemetryStreamOff), 1));
            json.WriteNumber("telemetry_stream_ratio", Round(TelemetryStreamRatio, 3));
            json.WriteNumber("telemetry_on_server_cpu_ms", Round(ServerCpuMs(TelemetryOn), 2));
            json.WriteNumber("telemetry_off_server_cpu_ms", Round(ServerCpuMs(TelemetryOff), 2));
            json.WriteNumber("telemetry_on_idle_cpu_ms_per_s", Round(TelemetryIdleCpu.On, 1));
            json.WriteNumber("telemetry_off_idle_cpu_ms_per_s", Round(TelemetryIdleCpu.Off, 1));
            if (TelemetryExport is { } export)
            {
                json.WriteStartObject("telemetry_exported");
                json.WriteNumber("trace_requests", export.Traces.Requests);
                json.WriteNumber("trace_bytes", export.Traces.Bytes);
                json.WriteNumber("metric_requests", export.Metrics.Requests);
                json.WriteNumber("metric_bytes", export.Metrics.Bytes);
                json.WriteNumber("log_requests", export.Logs.Requests);
                json.WriteNumber("log_bytes", export.Logs.Bytes);
                json.WriteNumber("scrapes", export.Scrapes);
                json.WriteEndObject();
            }
        }

        json.WriteStartObject("targets_met");
        json.WriteBoolean("ratio", Ratio >= RatioTarget);
        json.WriteBoolean("stream_ratio", StreamRatio >= StreamRatioTarget);
        if (Concurrency.ContainsKey(ScalingLevel))
        {
            json.WriteBoolean("concurrent_4_vs_1", Scaling(ScalingLevel) >= ScalingTarget);
        }

        if (HasTelemetry)
        {
            json.WriteBoolean("telemetry_ratio", TelemetryRatio >= TelemetryRatioTarget);
            json.WriteBoolean("telemetry_stream_ratio", TelemetryStreamRatio >= TelemetryRatioTarget);
        }

        json.WriteEndObject();
    });

    private double? ModelLoadMs =>
        ColdStarts.Any(c => c.ModelLoadMilliseconds is not null)
            ? Median(ColdStarts.Where(c => c.ModelLoadMilliseconds is not null).Select(c => (double)c.ModelLoadMilliseconds!.Value))
            : null;

    private double PairedRatio(List<GenerationRun> runs) => PairedRatio(runs, Raw);

    private static double PairedRatio(List<GenerationRun> runs, List<GenerationRun> baseline) =>
        Median(runs.Zip(baseline, (run, other) => run.TokensPerSecond / other.TokensPerSecond));

    private static double Tps(List<GenerationRun> runs) => Median(runs.Select(r => r.TokensPerSecond));

    private static void Row(StringBuilder text, string name, List<GenerationRun> runs) =>
        Line(text, $"{name,-24} {Median(runs.Select(r => r.TokensPerSecond)),10:0.0} {runs.Min(r => r.TokensPerSecond),9:0.0} {runs.Max(r => r.TokensPerSecond),9:0.0} {Median(runs.Select(r => r.Elapsed.TotalMilliseconds)),11:0.0} {Median(runs.Select(r => r.FirstToken.TotalMilliseconds)),13:0.00} {CpuMs(runs),11:0.0} {ServerCpuMs(runs),10:0.0}");

    /// <summary>Mean CPU time per run (client and service together); a mean because the clocks are summed, not sampled.</summary>
    private static double CpuMs(List<GenerationRun> runs) => runs.Average(r => r.Cpu.TotalMilliseconds);

    private static double ServerCpuMs(List<GenerationRun> runs) => runs.Average(r => r.ServerCpu.TotalMilliseconds);

    private static string Verdict(bool met) => met ? "met" : "MISSED";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }


    private static void WriteNullable(Utf8JsonWriter json, string name, double? value, int digits)
    {
        if (value is double v)
        {
            json.WriteNumber(name, Round(v, digits));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
