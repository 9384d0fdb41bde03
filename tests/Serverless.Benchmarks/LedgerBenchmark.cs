using System.Globalization;
using Npgsql;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>
/// The <c>ledger</c> mode: records per second through the ledger's real write path (group commit) on a fresh
/// SQLite file and on a private PostgreSQL, every record checked in the database afterwards; then what
/// metering adds to a request at one client, metered against unmetered service, same run.
/// </summary>
internal static class LedgerBenchmark
{
    /// <summary>Sequential records at one client after the load: the ledger's own latency, in process, without HTTP.</summary>
    private const int OneClientRecords = 2000;

    public static async Task<LedgerReport> RunAsync(BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.LatencyRequests > 0 && !File.Exists(arguments.ServerDll))
        {
            throw new InvalidOperationException($"{arguments.ServerDll} does not exist; build src/Serverless.Local or pass --server-dll.");
        }

        // Under the temp folder, which is on the disk here: the SQLite file and PostgreSQL's data must be where fsync is real.
        string root = Path.Combine(Path.GetTempPath(), "svl-ledger-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var report = new LedgerReport(arguments, root) { LoadAverage = (LoadAverage.Read(), double.NaN) };
        try
        {
            report.DiskSync = DiskSync.Measure(root);
            foreach (string database in arguments.Databases)
            {
                report.Databases.Add(database == "sqlite"
                    ? await MeasureSqliteAsync(root, arguments, cancellationToken)
                    : await MeasurePostgresAsync(root, arguments, cancellationToken));
            }

            if (arguments.LatencyRequests > 0)
            {
                report.Latency = await MeteringLatency.RunAsync(root, arguments, cancellationToken);
            }

            report.LoadAverage = (report.LoadAverage.Start, LoadAverage.Read());
            return report;
        }
        finally
        {
            TryDelete(root);
        }
    }

    private static Task<DatabaseResult> MeasureSqliteAsync(string root, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        string file = Path.Combine(root, "ledger.db");
        return MeasureAsync("sqlite", "Sqlite", $"Data Source={file}", file, arguments, cancellationToken);
    }

    private static async Task<DatabaseResult> MeasurePostgresAsync(string root, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        Progress("starting PostgreSQL (data on disk)");
        using var cluster = await PostgresCluster.StartAsync(Path.Combine(root, "postgres"), cancellationToken);
        // MigrateDatabaseAsync creates the database, as it does for a new deployment.
        string connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = "ledger_bench" }.ConnectionString;
        var result = await MeasureAsync("postgres", "Postgres", connectionString, Path.Combine(root, "postgres", "data"), arguments, cancellationToken, cluster.ServerCpu);
        if (arguments.LedgerInstances > 1)
        {
            string shared = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = "ledger_bench_shared" }.ConnectionString;
            result = result with { Instances = await MeasureInstancesAsync(shared, arguments, cluster.ServerCpu, cancellationToken) };
        }

        return result;
    }

    /// <summary>
    /// Several writers on one database at once: each its own services (AddDatabase + AddMetering), so its own
    /// LedgerWriter, connection, server backend and instance id, as separate processes would have; the clients split
    /// between them over the same keys and customers, so their transactions contend for the same customers' rows.
    /// </summary>
    private static async Task<LedgerRun> MeasureInstancesAsync(
        string connectionString, BenchmarkArguments arguments, Func<TimeSpan> serverCpu, CancellationToken cancellationToken)
    {
        int count = arguments.LedgerInstances;
        var loads = new List<LedgerLoad>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                loads.Add(await LedgerLoad.CreateAsync("Postgres", connectionString, arguments, cancellationToken));
            }

            int clients = Math.Max(1, arguments.LedgerClients / count);
            if (arguments.LedgerWarmup > 0)
            {
                Progress(string.Create(CultureInfo.InvariantCulture, $"postgres x{count}: {arguments.LedgerWarmup} warmup records"));
                await Task.WhenAll(loads.Select((load, i) => load.RunAsync(arguments.LedgerWarmup / count, clients, cancellationToken, i * clients)));
            }

            Progress(string.Create(CultureInfo.InvariantCulture, $"postgres x{count}: {arguments.LedgerRecords} records from {clients * count} concurrent clients over {count} writers"));
            var server = serverCpu();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var runs = await Task.WhenAll(loads.Select((load, i) => load.RunAsync(arguments.LedgerRecords / count, clients, cancellationToken, i * clients)));
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            var total = new LedgerRun(
                runs.Sum(r => r.Records), runs.Sum(r => r.Clients), elapsed, runs[0].Cpu, runs.Sum(r => r.Commits), runs.Sum(r => r.Commands),
                runs.Max(r => r.P50Us), runs.Max(r => r.P99Us)) { ServerCpu = serverCpu() - server };
            Progress(string.Create(CultureInfo.InvariantCulture, $"postgres x{count}: {total.RecordsPerSecond:0} records/s"));

            var contents = loads[0].Read();
            long acknowledged = (long)(arguments.LedgerWarmup / count) * count + total.Records;
            Check(contents.UsageRecords == acknowledged, $"postgres x{count}: {contents.UsageRecords} usage records for {acknowledged} acknowledged requests");
            Check(contents.OpenReservations == 0, $"postgres x{count}: {contents.OpenReservations} reservations left open");
            Check(contents.ExportRows == acknowledged, $"postgres x{count}: {contents.ExportRows} export outbox rows for {acknowledged} records");
            Check(contents.CustomerSpentTokens == contents.RecordTokens, $"postgres x{count}: customers' budgets spent {contents.CustomerSpentTokens} tokens, records hold {contents.RecordTokens}");
            Check(contents.ReservedTokens == 0, $"postgres x{count}: {contents.ReservedTokens} tokens still reserved in budgets");
            return total;
        }
        finally
        {
            foreach (var load in loads)
            {
                await load.DisposeAsync();
            }
        }
    }

    private static async Task<DatabaseResult> MeasureAsync(
        string name, string provider, string connectionString, string location, BenchmarkArguments arguments, CancellationToken cancellationToken,
        Func<TimeSpan>? serverCpu = null)
    {
        await using var load = await LedgerLoad.CreateAsync(provider, connectionString, arguments, cancellationToken);
        if (arguments.LedgerWarmup > 0)
        {
            Progress(string.Create(CultureInfo.InvariantCulture, $"{name}: {arguments.LedgerWarmup} warmup records"));
            await load.RunAsync(arguments.LedgerWarmup, arguments.LedgerClients, cancellationToken);
        }

        Progress(string.Create(CultureInfo.InvariantCulture, $"{name}: {arguments.LedgerRecords} records from {arguments.LedgerClients} concurrent clients"));
        var server = serverCpu?.Invoke();
        var timed = await load.RunAsync(arguments.LedgerRecords, arguments.LedgerClients, cancellationToken);
        timed = timed with { ServerCpu = serverCpu?.Invoke() - server };
        Progress(string.Create(CultureInfo.InvariantCulture, $"{name}: {timed.RecordsPerSecond:0} records/s; {OneClientRecords} records at one client"));
        var oneClient = await load.RunAsync(OneClientRecords, 1, cancellationToken);

        var contents = load.Read();
        long acknowledged = arguments.LedgerWarmup + timed.Records + oneClient.Records;
        Check(contents.UsageRecords == acknowledged, $"{name}: {contents.UsageRecords} usage records for {acknowledged} acknowledged requests");
        Check(contents.OpenReservations == 0, $"{name}: {contents.OpenReservations} reservations left open");
        Check(contents.ExportRows == acknowledged, $"{name}: {contents.ExportRows} export outbox rows for {acknowledged} records");
        Check(contents.CustomerSpentTokens == contents.RecordTokens, $"{name}: customers' budgets spent {contents.CustomerSpentTokens} tokens, records hold {contents.RecordTokens}");
        Check(contents.ReservedTokens == 0, $"{name}: {contents.ReservedTokens} tokens still reserved in budgets");
        return new DatabaseResult(name, location, load.Durability(), timed, oneClient, contents);
    }

    private static void Check(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Ledger check failed: " + failure);
        }
    }
}

/// <summary>One database's load: where it lived, how durable its commits were, the timed and the one-client runs, and what it held after.</summary>
internal sealed record DatabaseResult(string Name, string Location, string Durability, LedgerRun Load, LedgerRun OneClient, LedgerContents Contents)
{
    /// <summary>PostgreSQL with <c>--instances</c> above 1: the same load from that many writers on one database at once.</summary>
    public LedgerRun? Instances { get; init; }
}
