using System.Globalization;
using System.Text;
using System.Text.Json;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>What the ledger mode measured: a readable table, then one JSON object as the last line.</summary>
internal sealed class LedgerReport(BenchmarkArguments arguments, string folder)
{
    public const double SqliteRecordsTarget = 20_000;

    /// <summary>Issue 17: records/s from one instance's writer on PostgreSQL, and several writers together over one.</summary>
    public const double PostgresRecordsTarget = 20_000;
    public const double PostgresInstancesRatioTarget = 1.5;
    public const double MeteringP99TargetUs = 1_000;

    // As for the inference mode: before the run the load is other work's; the run itself adds about 2.
    private const double BusyAtEnd = 3.0;

    public List<DatabaseResult> Databases { get; } = [];

    public MeteringLatencyResult? Latency { get; set; }

    public (double Start, double End) LoadAverage { get; set; }

    /// <summary>One 8 KiB write + fsync in the benchmark's folder, before the run: the floor under every commit.</summary>
    public (double P50Us, double P99Us) DiskSync { get; set; }

    /// <summary>Server-side: how long a metered request waited on the ledger (its admission and settlement commits).</summary>
    public double? MeteringP50Us => Latency is null ? null : Percentile(Latency.Ledger, 0.50);

    public double? MeteringP99Us => Latency is null ? null : Percentile(Latency.Ledger, 0.99);

    public void Print(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Table());
        output.WriteLine(Json());
    }

    public string Table()
    {
        var text = new StringBuilder();
        Header(text, "Ledger benchmark", LoadAverage, BusyAtEnd, "cpu us/record");

        Line(text, $"disk: write 8 KiB + fsync in the benchmark folder, p50 {DiskSync.P50Us:0} us, p99 {DiskSync.P99Us:0} us (every commit pays one)");
        if (Databases.Count > 0)
        {
            Line(text, $"write path: MeteringService.AdmitAsync + SettleAsync per record (as a completion does), LedgerWriter group commit, Metering:MaxBatchSize {arguments.LedgerBatch?.ToString(CultureInfo.InvariantCulture) ?? "1024 (default)"}");
            Line(text, $"{arguments.LedgerClients} concurrent clients over {arguments.LedgerKeys} keys and {arguments.LedgerCustomers} customers; {arguments.LedgerWarmup} warmup + {arguments.LedgerRecords} timed records per database, in {folder}");
            text.AppendLine();
            Line(text, $"{"database",-10} {"records/s",10} {"commits",8} {"ops/commit",11} {"cpu us/rec",11} {"p50 ms",8} {"p99 ms",8}   {"1 client p50 us",15} {"p99 us",8}");
            foreach (var d in Databases)
            {
                double goal = d.Name == "sqlite" ? SqliteRecordsTarget : PostgresRecordsTarget;
                string target = $"   target >= {goal:0}  {Verdict(d.Load.RecordsPerSecond >= goal)}";
                Line(text, $"{d.Name,-10} {d.Load.RecordsPerSecond,10:0} {d.Load.Commits,8} {d.Load.CommandsPerCommit,11:0.0} {d.Load.CpuUsPerRecord,11:0.0} {d.Load.P50Us / 1000,8:0.00} {d.Load.P99Us / 1000,8:0.00}   {d.OneClient.P50Us,15:0} {d.OneClient.P99Us,8:0}{target}");
            }

            foreach (var d in Databases)
            {
                if (d.Instances is { } many)
                {
                    Line(text, $"{"pg x" + arguments.LedgerInstances.ToString(CultureInfo.InvariantCulture),-10} {many.RecordsPerSecond,10:0} {many.Commits,8} {many.CommandsPerCommit,11:0.0} {many.CpuUsPerRecord,11:0.0} {many.P50Us / 1000,8:0.00} {many.P99Us / 1000,8:0.00}   ({many.RecordsPerSecond / d.Load.RecordsPerSecond:0.00}x one writer; {arguments.LedgerInstances} writers on one database)   target >= {PostgresInstancesRatioTarget:0.0}x  {Verdict(many.RecordsPerSecond / d.Load.RecordsPerSecond >= PostgresInstancesRatioTarget)}");
                }

                if (d.Load.ServerCpuUsPerRecord is { } server)
                {
                    Line(text, $"{d.Name}: server cpu us/rec {server:0.0} (all PostgreSQL processes){(d.Instances?.ServerCpuUsPerRecord is { } shared ? $", {shared:0.0} with {arguments.LedgerInstances} writers" : string.Empty)}");
                    Line(text, $"{d.Name}: all cpu us/rec {d.Load.CpuUsPerRecord + server:0.0} (this process + server): at most {Ceiling(d.Load.CpuUsPerRecord + server):0} records/s with {Environment.ProcessorCount} cores always busy{(d.Instances is { ServerCpuUsPerRecord: { } s } m ? $"; {arguments.LedgerInstances} writers {m.CpuUsPerRecord + s:0.0}, at most {Ceiling(m.CpuUsPerRecord + s):0}" : string.Empty)}");
                }
            }

            text.AppendLine();
            Line(text, $"ops/commit: admissions and settlements per transaction (a record is one of each); cpu us/rec: this process (clients and writer; PostgreSQL's own CPU not counted); p50/p99: one record's admit + settle under the load; 1 client: {Databases[0].OneClient.Records} sequential records afterwards");
            foreach (var d in Databases)
            {
                Line(text, $"{d.Name}: {d.Durability}; verified after the run: {d.Contents.UsageRecords} usage records = acknowledged, {d.Contents.OpenReservations} open reservations, {d.Contents.ExportRows} export rows, budgets spent = recorded tokens ({d.Contents.RecordTokens})");
            }

            text.AppendLine();
        }

        if (Latency is { } latency)
        {
            Line(text, $"metering at one client: {latency.On.Count} sequential POST /v1/completions (max_tokens {arguments.MaxTokens}, whole) per setting after {arguments.LatencyWarmup} warmup, metered and unmetered service taking turns");
            Line(text, $"{"",-44} {"p50 us",9} {"p90 us",9} {"p99 us",9} {"max us",9}");
            Row(text, "request, metering off (client)", latency.Off);
            Row(text, "request, metering on (client)", latency.On);
            Line(text, $"{"on - off, per quantile",-44} {Percentile(latency.On, 0.50) - Percentile(latency.Off, 0.50),9:0} {Percentile(latency.On, 0.90) - Percentile(latency.Off, 0.90),9:0} {Percentile(latency.On, 0.99) - Percentile(latency.Off, 0.99),9:0} {"",9}");
            Row(text, "ledger wait in the request (Server-Timing)", latency.Ledger);
            Row(text, $"disk alone between rounds ({IdleFsyncProbe.Pages} pages + fsync)", latency.Disk);
            Line(text, $"metering p99 {MeteringP99Us:0} us   target <= {MeteringP99TargetUs:0}  {Verdict(MeteringP99Us <= MeteringP99TargetUs)}   (the ledger wait: admission + settlement commits, measured in the service)");
            text.AppendLine();
        }

        return text.ToString();
    }

    public string Json() => JsonLine(arguments.Mode, LoadAverage, json =>
    {
        json.WriteNumber("fsync_p50_us", Round(DiskSync.P50Us, 0));
        json.WriteNumber("fsync_p99_us", Round(DiskSync.P99Us, 0));
        json.WriteNumber("records", arguments.LedgerRecords);
        json.WriteNumber("clients", arguments.LedgerClients);
        json.WriteNumber("keys", arguments.LedgerKeys);
        json.WriteNumber("customers", arguments.LedgerCustomers);
        foreach (string name in new[] { "sqlite", "postgres" })
        {
            var d = Databases.FirstOrDefault(d => d.Name == name);
            WriteNullable(json, $"{name}_records_per_s", d?.Load.RecordsPerSecond, 0);
            WriteNullable(json, $"{name}_commits", d?.Load.Commits, 0);
            WriteNullable(json, $"{name}_ops_per_commit", d?.Load.CommandsPerCommit, 1);
            WriteNullable(json, $"{name}_cpu_us_per_record", d?.Load.CpuUsPerRecord, 1);
            WriteNullable(json, $"{name}_record_p50_ms", d?.Load.P50Us / 1000, 2);
            WriteNullable(json, $"{name}_record_p99_ms", d?.Load.P99Us / 1000, 2);
            WriteNullable(json, $"{name}_one_client_p50_us", d?.OneClient.P50Us, 0);
            WriteNullable(json, $"{name}_one_client_p99_us", d?.OneClient.P99Us, 0);
        }

        var postgres = Databases.FirstOrDefault(d => d.Name == "postgres");
        WriteNullable(json, "postgres_server_cpu_us_per_record", postgres?.Load.ServerCpuUsPerRecord, 1);
        WriteNullable(json, $"postgres_{arguments.LedgerInstances}_instances_records_per_s", postgres?.Instances?.RecordsPerSecond, 0);
        WriteNullable(json, $"postgres_{arguments.LedgerInstances}_instances_server_cpu_us_per_record", postgres?.Instances?.ServerCpuUsPerRecord, 1);
        double? all = postgres?.Load.ServerCpuUsPerRecord + postgres?.Load.CpuUsPerRecord;
        WriteNullable(json, "postgres_all_cpu_us_per_record", all, 1);
        WriteNullable(json, "postgres_cpu_ceiling_records_per_s", all is double a ? Ceiling(a) : null, 0);
        double? allMany = postgres?.Instances?.ServerCpuUsPerRecord + postgres?.Instances?.CpuUsPerRecord;
        WriteNullable(json, $"postgres_{arguments.LedgerInstances}_instances_all_cpu_us_per_record", allMany, 1);
        WriteNullable(json, $"postgres_{arguments.LedgerInstances}_instances_cpu_ceiling_records_per_s", allMany is double m ? Ceiling(m) : null, 0);

        var latency = Latency;
        WriteNullable(json, "metering_p50_us", MeteringP50Us, 0);
        WriteNullable(json, "metering_p99_us", MeteringP99Us, 0);
        WriteNullable(json, "idle_fsync_p50_us", latency is null ? null : Percentile(latency.Disk, 0.50), 0);
        WriteNullable(json, "idle_fsync_p99_us", latency is null ? null : Percentile(latency.Disk, 0.99), 0);
        WriteNullable(json, "request_off_p50_us", latency is null ? null : Percentile(latency.Off, 0.50), 0);
        WriteNullable(json, "request_off_p99_us", latency is null ? null : Percentile(latency.Off, 0.99), 0);
        WriteNullable(json, "request_on_p50_us", latency is null ? null : Percentile(latency.On, 0.50), 0);
        WriteNullable(json, "request_on_p99_us", latency is null ? null : Percentile(latency.On, 0.99), 0);
        WriteNullable(json, "metering_delta_p50_us", latency is null ? null : Percentile(latency.On, 0.50) - Percentile(latency.Off, 0.50), 0);
        WriteNullable(json, "metering_delta_p99_us", latency is null ? null : Percentile(latency.On, 0.99) - Percentile(latency.Off, 0.99), 0);
        json.WriteStartObject("targets_met");
        if (Databases.FirstOrDefault(d => d.Name == "sqlite") is { } sqlite)
        {
            json.WriteBoolean("sqlite_records_per_s", sqlite.Load.RecordsPerSecond >= SqliteRecordsTarget);
        }

        if (postgres is not null)
        {
            json.WriteBoolean("postgres_records_per_s", postgres.Load.RecordsPerSecond >= PostgresRecordsTarget);
            if (postgres.Instances is { } instances)
            {
                json.WriteBoolean($"postgres_{arguments.LedgerInstances}_instances_ratio", instances.RecordsPerSecond / postgres.Load.RecordsPerSecond >= PostgresInstancesRatioTarget);
            }
        }

        if (MeteringP99Us is double p99)
        {
            json.WriteBoolean("metering_p99", p99 <= MeteringP99TargetUs);
        }

        json.WriteEndObject();
    });

    private static void Row(StringBuilder text, string name, List<TimeSpan> values) =>
        Line(text, $"{name,-44} {Percentile(values, 0.50),9:0} {Percentile(values, 0.90),9:0} {Percentile(values, 0.99),9:0} {values.Max().TotalMicroseconds,9:0}");

    /// <summary>Nearest-rank percentile, in microseconds.</summary>
    private static double Percentile(List<TimeSpan> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)].TotalMicroseconds;
    }

    private static string Verdict(bool met) => met ? "met" : "MISSED";

    // Records/s if every core did nothing but this, at this much CPU per record (all processes).
    private static double Ceiling(double cpuUsPerRecord) => Environment.ProcessorCount * 1_000_000 / cpuUsPerRecord;


    private static void WriteNullable(Utf8JsonWriter json, string name, double? value, int digits)
    {
        if (value is double v && !double.IsNaN(v))
        {
            json.WriteNumber(name, Round(v, digits));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
