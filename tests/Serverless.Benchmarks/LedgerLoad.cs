using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Core.Data;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Benchmarks;

/// <summary>
/// The ledger's real write path in this process: the services registered by AddDatabase and AddMetering on a
/// freshly migrated database, driven by concurrent "requests" that each do what a completion does with the
/// ledger: AdmitAsync (rate windows, budgets, reservation), then SettleAsync (the usage record). A request
/// counts as acknowledged when SettleAsync returned, which is after the record's transaction committed.
/// </summary>
internal sealed class LedgerLoad : IAsyncDisposable
{
    public const string Model = "bench-model";

    // What a short completion reserves and settles: a 24-token prompt and up to 16 tokens, of which 1 to 16 are
    // generated, so settlement usually gives unused tokens back to the rate windows, as it does in production.
    private const long PromptTokens = 24;
    private const long MaxTokens = 16;

    private readonly ServiceProvider _services;
    private readonly MeteringService _metering;
    private readonly LedgerWriter _writer;
    private readonly LedgerConnections _connections;
    private readonly int _keys;
    private readonly int _customers;

    private LedgerLoad(ServiceProvider services, int keys, int customers)
    {
        _services = services;
        _metering = services.GetRequiredService<MeteringService>();
        _writer = services.GetRequiredService<LedgerWriter>();
        _connections = services.GetRequiredService<LedgerConnections>();
        _keys = keys;
        _customers = customers;
    }

    public static async Task<LedgerLoad> CreateAsync(
        string provider, string connectionString, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider,
            ["Database:ConnectionString"] = connectionString,
            // The benchmark measures writing, not refusing: no key or customer may hit a limit.
            ["Metering:DefaultRequestsPerMinute"] = long.MaxValue.ToString(CultureInfo.InvariantCulture),
            ["Metering:DefaultTokensPerMinute"] = (long.MaxValue / 4).ToString(CultureInfo.InvariantCulture),
        };
        if (arguments.LedgerBatch is int batch)
        {
            settings["Metering:MaxBatchSize"] = batch.ToString(CultureInfo.InvariantCulture);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var services = new ServiceCollection()
            // Warnings and errors of the ledger go to stderr, with the progress; stdout is the report's. EF Core's
            // failed read of the migrations history on a fresh database is expected and not worth a line.
            .AddLogging(logging => logging
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                .SetMinimumLevel(LogLevel.Warning)
                .AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None))
            .AddDatabase(configuration)
            .AddMetering(configuration);
        services.TryAddSingleton(TimeProvider.System);
        var provided = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            await provided.MigrateDatabaseAsync(cancellationToken);
            // A price, so admissions reserve and settlements charge real amounts, as in production.
            await provided.GetRequiredService<PriceBook>().SetAsync(Model, 150_000, 600_000, 0, DateTimeOffset.UnixEpoch, cancellationToken);
            return new LedgerLoad(provided, arguments.LedgerKeys, arguments.LedgerCustomers);
        }
        catch
        {
            await provided.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="records"/> requests through <paramref name="clients"/> concurrent workers; each worker
    /// admits and settles one request at a time.
    /// </summary>
    /// <param name="clientOffset">Where this load's clients start in the keys (several loads on one database spread over the same keys).</param>
    public async Task<LedgerRun> RunAsync(int records, int clients, CancellationToken cancellationToken, int clientOffset = 0)
    {
        long commitsBefore = _writer.Commits;
        long commandsBefore = _writer.CommandsCommitted;
        var cpuBefore = ProcessCpuClock.Read(0);
        int issued = 0;
        var latencies = new long[records];
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(clientOffset, clients).Select(client => Task.Run(async () =>
        {
            string key = "key_" + (client % _keys).ToString("D4", CultureInfo.InvariantCulture);
            string customer = "cus_" + (client % _keys % _customers).ToString("D4", CultureInfo.InvariantCulture);
            int acknowledged = 0;
            for (int n = Interlocked.Increment(ref issued) - 1; n < records; n = Interlocked.Increment(ref issued) - 1)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var begun = Stopwatch.GetTimestamp();
                await RequestAsync(key, customer);
                latencies[n] = Stopwatch.GetTimestamp() - begun;
                acknowledged++;
            }

            return acknowledged;
        }, cancellationToken)).ToList();
        int total = (await Task.WhenAll(workers)).Sum();
        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = ProcessCpuClock.Read(0) - cpuBefore ?? TimeSpan.Zero;
        Array.Sort(latencies);
        return new LedgerRun(
            total, clients, elapsed, cpu, _writer.Commits - commitsBefore, _writer.CommandsCommitted - commandsBefore,
            Microseconds(Percentile(latencies, 0.50)), Microseconds(Percentile(latencies, 0.99)));
    }

    /// <summary>What the ledger holds: one usage record per acknowledged request, and nothing left reserved.</summary>
    public LedgerContents Read()
    {
        using var connection = _connections.OpenForReading();
        return new LedgerContents(
            Scalar(connection, """SELECT COUNT(*) FROM "UsageRecords" """),
            Scalar(connection, """SELECT COUNT(*) FROM "Reservations" """),
            Scalar(connection, """SELECT COUNT(*) FROM "ExportQueue" """),
            Scalar(connection, """SELECT COALESCE(SUM("PromptTokens" + "CompletionTokens"), 0) FROM "UsageRecords" """),
            Scalar(connection, """SELECT COALESCE(SUM("SpentTokens"), 0) FROM "BudgetUsage" WHERE "Scope" = 'customer'"""),
            Scalar(connection, """SELECT COALESCE(SUM("ReservedTokens"), 0) FROM "BudgetUsage" """));
    }

    /// <summary>The durability settings the write path committed under (SQLite: the writer's own connection settings).</summary>
    public string Durability()
    {
        using var connection = _connections.OpenForReading();
        return _connections.IsSqlite
            ? $"journal_mode={Text(connection, "PRAGMA journal_mode")}, writer synchronous=FULL (LedgerConnections.OpenForWriting)"
            : $"fsync={Text(connection, "SHOW fsync")}, synchronous_commit={Text(connection, "SHOW synchronous_commit")}, wal_sync_method={Text(connection, "SHOW wal_sync_method")}";
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    // Exactly what CompletionService asks of the ledger for one completion.
    private async Task RequestAsync(string key, string customer)
    {
        string requestId = Ids.NewRequestId();
        var admission = await _metering.AdmitAsync(new AdmissionRequest
        {
            RequestId = requestId,
            KeyId = key,
            CustomerId = customer,
            Model = Model,
            PromptTokens = PromptTokens,
            MaxTokens = MaxTokens,
        });
        if (admission.Status != AdmissionStatus.Admitted)
        {
            throw new InvalidOperationException($"Request {requestId} was not admitted: {admission.Status} {admission.Reason}");
        }

        long generated = Random.Shared.NextInt64(1, MaxTokens + 1);
        var settlement = await _metering.SettleAsync(new SettlementRequest
        {
            Reservation = admission.Reservation!,
            CompletionTokens = generated,
            Outcome = UsageOutcome.Length,
            EndedAt = DateTimeOffset.UtcNow,
        });
        if (!settlement.SettledHere || settlement.CompletionTokens != generated)
        {
            throw new InvalidOperationException($"Request {requestId} was not settled as sent: {settlement}");
        }
    }

    private static long Scalar(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // Fixed SQL, no input.
        command.CommandText = sql;
#pragma warning restore CA2100
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static string Text(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // Fixed SQL, no input.
        command.CommandText = sql;
#pragma warning restore CA2100
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "?";
    }

    private static long Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static double Microseconds(long stopwatchTicks) => stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency;
}

/// <summary>One timed load: requests acknowledged, wall and CPU time, commits, and request latency under that load.</summary>
internal sealed record LedgerRun(int Records, int Clients, TimeSpan Elapsed, TimeSpan Cpu, long Commits, long Commands, double P50Us, double P99Us)
{
    public double RecordsPerSecond => Records / Elapsed.TotalSeconds;

    /// <summary>Ledger commands (admissions and settlements) per transaction.</summary>
    public double CommandsPerCommit => Commits == 0 ? 0 : (double)Commands / Commits;

    public double CpuUsPerRecord => Records == 0 ? 0 : Cpu.TotalMicroseconds / Records;

    /// <summary>PostgreSQL: the server's CPU time during the run (all of its processes), when measured.</summary>
    public TimeSpan? ServerCpu { get; init; }

    public double? ServerCpuUsPerRecord => ServerCpu is { } cpu && Records > 0 ? cpu.TotalMicroseconds / Records : null;
}

/// <summary>Counts read back from the ledger after a load.</summary>
internal sealed record LedgerContents(long UsageRecords, long OpenReservations, long ExportRows, long RecordTokens, long CustomerSpentTokens, long ReservedTokens);
