using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Core.Jobs;
using Serverless.Local.Jobs;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>What the batch mode measured: a readable table, then one JSON object as the last line.</summary>
internal sealed class BatchReport
{
    public const double OverheadRatioTarget = 1.25;

    // As for the other modes: before the run the load is other work's; the run itself adds about 2-4.
    private const double BusyAtEnd = 5.0;

    private readonly BenchmarkArguments _arguments;

    public BatchReport(BenchmarkArguments arguments, IReadOnlyDictionary<string, string> settings)
    {
        _arguments = arguments;
        Settings = settings;
        var batch = new BatchOptions();
        var durable = new LocalDurableTaskOptions();
        ChunkSize = Effective("Batch__ChunkSize", batch.ChunkSize);
        ParallelChunks = Effective("Batch__MaxParallelChunks", batch.MaxParallelChunks);
        ConcurrentLines = Effective("Batch__MaxConcurrentLines", batch.MaxConcurrentLines);
        PollInterval = settings.TryGetValue("LocalDurableTask__MaxQueuePollingInterval", out string? poll)
            ? TimeSpan.Parse(poll, CultureInfo.InvariantCulture)
            : durable.MaxQueuePollingInterval;
    }

    /// <summary>The environment the service ran with, besides storage, database and secrets.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    public int ChunkSize { get; }

    public int ParallelChunks { get; }

    /// <summary>Batch:MaxConcurrentLines: lines generating at once in the service, and raw loops at once in the direct run.</summary>
    public int ConcurrentLines { get; }

    public TimeSpan PollInterval { get; }

    public List<BatchRound> Rounds { get; } = [];

    public (double Start, double End) LoadAverage { get; set; }

    public double BatchSeconds => Median(Rounds.Select(r => r.Batch.Elapsed.TotalSeconds));

    public double DirectSeconds => Median(Rounds.Select(r => r.Direct.Elapsed.TotalSeconds));

    /// <summary>The median of the rounds' batch/direct ratios (each round's two runs back to back meet the same conditions).</summary>
    public double OverheadRatio => Median(Rounds.Select(r => r.Ratio));

    /// <summary>The median of the rounds' batch/direct CPU time (benchmark, service and Azurite together).</summary>
    public double CpuRatio => Median(Rounds.Select(r => r.CpuRatio));

    public void Print(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Table());
        output.WriteLine(Json());
    }

    public string Table()
    {
        var text = new StringBuilder();
        Header(text, "Batch benchmark", LoadAverage, BusyAtEnd, "the batch/direct ratio of a round");

        Line(text, $"work: {_arguments.BatchLines} lines of {BatchBenchmark.Endpoint} on the demo model, max_tokens {_arguments.MaxTokens}, temperature 0; every batch line checked against the raw loop's text for its prompt");
        Line(text, $"service: Batch:ChunkSize {ChunkSize}, Batch:MaxParallelChunks {ParallelChunks}, Batch:MaxConcurrentLines {ConcurrentLines}, LocalDurableTask:MaxQueuePollingInterval {PollInterval.TotalMilliseconds:0} ms{Extra()}");
        Line(text, $"direct: the raw GenAI loop in this process, {ConcurrentLines} threads at once over one model; batch: POST /v1/batches sent -> a GET (every {BatchBenchmark.ClientPollInterval.TotalMilliseconds:0} ms) sees 'completed'");
        text.AppendLine();
        Line(text, $"{"round",5} {"direct s",9} {"batch s",8} {"ratio",6} | {"validate",8} {"1st line",8} {"lines s",8} {"tail",6} {"finalize",8} {"seen",6} | {"line ms batch",13} {"direct",7} {"slot use",8} {"chunks",6} | {"cpu s direct",12} {"(this",5} {"svc",4} {"azu)",4} {"batch",6} {"(svc",5} {"azu",4} {"this)",5}");
        int n = 0;
        foreach (var r in Rounds)
        {
            var p = r.Phases;
            double seen = (r.Batch.Elapsed.TotalMilliseconds - p.TotalMs);
            Line(text, $"{++n,5} {r.Direct.Elapsed.TotalSeconds,9:0.00} {r.Batch.Elapsed.TotalSeconds,8:0.00} {r.Ratio,6:0.000} | {p.ValidationMs,8} {p.FirstLineMs,8} {p.LinesMs / 1000.0,8:0.00} {p.TailMs,6} {p.FinalizeMs,8} {seen,6:0} | {p.MeanLineMs,13:0.0} {r.Direct.MeanLineMs,7:0.0} {p.SlotUse(ConcurrentLines),8:0.00} {p.Chunks,6} | {r.Direct.Cpu.Total.TotalSeconds,12:0.00} {r.Direct.Cpu.Benchmark.TotalSeconds,5:0.0} {r.Direct.Cpu.Service.TotalSeconds,4:0.0} {r.Direct.Cpu.Azurite.TotalSeconds,4:0.0} {r.Batch.Cpu.Total.TotalSeconds,6:0.00} {r.Batch.Cpu.Service.TotalSeconds,5:0.0} {r.Batch.Cpu.Azurite.TotalSeconds,4:0.0} {r.Batch.Cpu.Benchmark.TotalSeconds,5:0.0}");
        }

        Line(text, $"{"median",5} {DirectSeconds,9:0.00} {BatchSeconds,8:0.00} {OverheadRatio,6:0.000}");
        text.AppendLine();
        Line(text, $"phases (ms, the service's own timestamps): validate = created -> in_progress (orchestration start, validate activity); 1st line = in_progress -> first line admitted;");
        Line(text, $"  lines = first admission -> last settlement; tail = last settlement -> finalizing; finalize = finalizing -> completed (output file); seen = the client's clock minus created -> completed (create request, poll)");
        Line(text, $"cpu s: CPU time of the processes during the run (direct: this process's raw loops, plus the idle service and Azurite; batch: service, Azurite and this process polling)");
        Line(text, $"line ms: mean admission -> settlement of a batch line, and mean time of a direct line; slot use: summed line time / ({ConcurrentLines} slots x lines span)");
        Line(text, $"overhead ratio {OverheadRatio:0.000}   target <= {OverheadRatioTarget:0.00}  {Verdict(OverheadRatio <= OverheadRatioTarget)}");
        Line(text, $"cpu ratio {CpuRatio:0.000}   (batch/direct CPU time of all three processes, median of rounds: what the batch costs, and a floor under the overhead ratio on a machine the generation saturates; it moves far less than wall time when other work shares the machine)");
        text.AppendLine();
        return text.ToString();
    }

    public string Json() => JsonLine(_arguments.Mode, LoadAverage, json =>
    {
        json.WriteNumber("lines", _arguments.BatchLines);
        json.WriteNumber("max_tokens", _arguments.MaxTokens);
        json.WriteNumber("rounds", Rounds.Count);
        json.WriteNumber("chunk_size", ChunkSize);
        json.WriteNumber("max_parallel_chunks", ParallelChunks);
        json.WriteNumber("max_concurrent_lines", ConcurrentLines);
        json.WriteNumber("queue_polling_interval_ms", PollInterval.TotalMilliseconds);
        json.WriteNumber("batch_seconds", Round(BatchSeconds, 3));
        json.WriteNumber("direct_seconds", Round(DirectSeconds, 3));
        json.WriteNumber("overhead_ratio", Round(OverheadRatio, 3));
        json.WriteNumber("cpu_ratio", Round(CpuRatio, 3));
        json.WriteNumber("validate_ms", Median(Rounds.Select(r => (double)r.Phases.ValidationMs)));
        json.WriteNumber("first_line_ms", Median(Rounds.Select(r => (double)r.Phases.FirstLineMs)));
        json.WriteNumber("lines_seconds", Round(Median(Rounds.Select(r => r.Phases.LinesMs / 1000.0)), 3));
        json.WriteNumber("tail_ms", Median(Rounds.Select(r => (double)r.Phases.TailMs)));
        json.WriteNumber("finalize_ms", Median(Rounds.Select(r => (double)r.Phases.FinalizeMs)));
        json.WriteNumber("batch_line_ms", Round(Median(Rounds.Select(r => r.Phases.MeanLineMs)), 1));
        json.WriteNumber("direct_line_ms", Round(Median(Rounds.Select(r => r.Direct.MeanLineMs)), 1));
        json.WriteNumber("direct_cpu_seconds", Round(Median(Rounds.Select(r => r.Direct.Cpu.Total.TotalSeconds)), 2));
        json.WriteNumber("batch_cpu_seconds", Round(Median(Rounds.Select(r => r.Batch.Cpu.Total.TotalSeconds)), 2));
        json.WriteNumber("batch_service_cpu_seconds", Round(Median(Rounds.Select(r => r.Batch.Cpu.Service.TotalSeconds)), 2));
        json.WriteNumber("batch_azurite_cpu_seconds", Round(Median(Rounds.Select(r => r.Batch.Cpu.Azurite.TotalSeconds)), 2));
        json.WriteNumber("slot_use", Round(Median(Rounds.Select(r => r.Phases.SlotUse(ConcurrentLines))), 3));
        json.WriteStartArray("round_ratios");
        foreach (var r in Rounds)
        {
            json.WriteNumberValue(Round(r.Ratio, 3));
        }

        json.WriteEndArray();
        json.WriteStartObject("targets_met");
        json.WriteBoolean("overhead_ratio", OverheadRatio <= OverheadRatioTarget);
        json.WriteEndObject();
    });

    private int Effective(string key, int fallback) =>
        Settings.TryGetValue(key, out string? value) ? int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture) : fallback;

    private string Extra()
    {
        var extra = Settings.Where(s => !s.Key.StartsWith("Batch__", StringComparison.Ordinal) && s.Key != "LocalDurableTask__MaxQueuePollingInterval" && s.Key != "Logging__LogLevel__Default").ToList();
        return extra.Count == 0 ? string.Empty : "; " + string.Join(", ", extra.Select(s => $"{s.Key}={s.Value}"));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Verdict(bool met) => met ? "met" : "MISSED";

}
