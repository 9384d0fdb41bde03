using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Testing.Stripe;

namespace Serverless.Benchmarks;

/// <summary>
/// The Stripe usage export in this process: the services registered by AddDatabase, AddMetering, AddApiKeys and
/// AddBilling on a freshly migrated SQLite file, Stripe pointed at a <see cref="FakeStripeServer"/>, meters and
/// customers set up through <see cref="BillingSetup"/> as an admin would, then settled usage seeded into the ledger
/// and its export outbox, and <see cref="UsageExporter.RunPassAsync"/> run until nothing is left to send.
/// </summary>
internal sealed class BillingExport : IAsyncDisposable
{
    private const string Model = "demo";

    private readonly ServiceProvider _services;
    private readonly FakeStripeServer _stripe;
    private readonly LedgerConnections _connections;

    private BillingExport(ServiceProvider services, FakeStripeServer stripe)
    {
        _services = services;
        _stripe = stripe;
        _connections = services.GetRequiredService<LedgerConnections>();
    }

    /// <summary>Services on a new SQLite file in <paramref name="folder"/>; <paramref name="settings"/> are extra "Stripe:*" settings.</summary>
    public static async Task<BillingExport> CreateAsync(string folder, FakeStripeServer stripe, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stripe);
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(folder);
        var values = new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(folder, "ledger.db")}",
            ["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Admin:Key"] = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)),
            ["Stripe:ApiKey"] = stripe.ApiKey,
            ["Stripe:ApiBase"] = stripe.ApiBase,
            ["Stripe:MeterEventsBase"] = stripe.MeterEventsBase,
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection()
            // Warnings and errors go to stderr with the progress (a dead-lettered bucket would show here); stdout is the report's.
            .AddLogging(logging => logging
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                .SetMinimumLevel(LogLevel.Warning)
                .AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None))
            .AddDatabase(configuration)
            .AddMetering(configuration)
            .AddApiKeys(configuration)
            .AddBilling(configuration);
        services.TryAddSingleton(TimeProvider.System);
        var provided = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            await provided.MigrateDatabaseAsync(cancellationToken);
            await provided.GetRequiredService<BillingSetup>().EnsureMetersAsync(cancellationToken);
            return new BillingExport(provided, stripe);
        }
        catch
        {
            await provided.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="customers"/> customers, each linked to a new Stripe customer (one API call each, as
    /// <c>billing customers link</c> makes), and <paramref name="records"/> settled usage records with their outbox
    /// rows, written in one transaction. EndedAt is spread at random over <paramref name="minutes"/> whole minutes
    /// ending an hour ago, and records are inserted in EndedAt order, as the ledger writes them; customers take turns
    /// at random. Prompt and completion tokens vary per record (1-2000, 1-1000), so totals check real sums.
    /// </summary>
    public async Task<SeededUsage> SeedAsync(int records, int customers, int minutes, CancellationToken cancellationToken)
    {
        var setup = _services.GetRequiredService<BillingSetup>();
        var customerIds = Enumerable.Range(0, customers).Select(c => "bench-co-" + c.ToString("D3", CultureInfo.InvariantCulture)).ToArray();
        foreach (string customer in customerIds)
        {
            await setup.EnsureCustomerAsync(customer, customer, null, cancellationToken);
        }

        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long minute = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;
        long end = now - (now % minute) - (60 * minute);
        long start = end - (minutes * minute);
        var random = new Random(20_250_101);
        var ended = new long[records];
        for (int i = 0; i < records; i++)
        {
            ended[i] = start + random.NextInt64(end - start);
        }

        Array.Sort(ended);
        var buckets = new HashSet<(int Customer, long Minute)>();
        var started = Stopwatch.GetTimestamp();
        using (var connection = _connections.OpenForWriting())
        using (var transaction = connection.BeginTransaction())
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO "UsageRecords" ("RequestId", "KeyId", "CustomerId", "Model", "PromptTokens", "CompletionTokens", "CachedPromptTokens",
                  "PriceVersion", "CostMicroUsd", "StartedAt", "EndedAt", "Outcome", "InstanceId", "BatchId", "CorrectsRequestId")
                VALUES (@requestId, 'key_bench', @customer, @model, @prompt, @completion, 0, 0, 0, @started, @ended, @outcome, 'bench-seed', NULL, NULL)
                """;
            var requestId = Parameter(insert, "@requestId");
            var customer = Parameter(insert, "@customer");
            var prompt = Parameter(insert, "@prompt");
            var completion = Parameter(insert, "@completion");
            var startedAt = Parameter(insert, "@started");
            var endedAt = Parameter(insert, "@ended");
            Parameter(insert, "@model").Value = Model;
            Parameter(insert, "@outcome").Value = UsageOutcome.Completed;
            insert.Prepare();
            for (int i = 0; i < records; i++)
            {
                int c = random.Next(customers);
                requestId.Value = "req_seed_" + i.ToString("D8", CultureInfo.InvariantCulture);
                customer.Value = customerIds[c];
                prompt.Value = (long)random.Next(1, 2001);
                completion.Value = (long)random.Next(1, 1001);
                startedAt.Value = ended[i] - 5;
                endedAt.Value = ended[i];
                insert.ExecuteNonQuery();
                buckets.Add((c, ended[i] / minute));
            }

            // The outbox rows settlement adds next to each record (LedgerSql.EnqueueExport), all at once.
            using var enqueue = connection.CreateCommand();
            enqueue.Transaction = transaction;
            enqueue.CommandText = """
                INSERT INTO "ExportQueue" ("RecordId", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens")
                SELECT "Id", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens" FROM "UsageRecords" ORDER BY "Id"
                """;
            enqueue.ExecuteNonQuery();
            await transaction.CommitAsync(cancellationToken);
        }

        return new SeededUsage(records, customers, minutes, buckets.Count * MeterKind.All.Length, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Export passes, timed, until the outbox is empty and no bucket is pending (or a pass made no progress).</summary>
    public async Task<ExportRun> DrainAsync(CancellationToken cancellationToken)
    {
        var exporter = _services.GetRequiredService<UsageExporter>();
        var callsBefore = Calls();
        var cpuBefore = ProcessCpuClock.Read(0);
        var passes = new List<ExportPassResult>();
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var pass = await exporter.RunPassAsync(cancellationToken);
            passes.Add(pass);
            if (!pass.Ran)
            {
                throw new InvalidOperationException($"The export pass did not run: {pass.Reason}");
            }

            if (Scalar("""SELECT COUNT(*) FROM "ExportQueue" """) == 0 && Scalar("""SELECT COUNT(*) FROM "ExportBuckets" WHERE "Status" = 'pending'""") == 0)
            {
                break;
            }

            if (pass.RecordsClaimed == 0 && pass.BucketsAccepted == 0)
            {
                // Retries wait for their backoff: say so rather than spin. Nothing should be retrying against the fake.
                throw new InvalidOperationException($"Export made no progress in pass {passes.Count}: {pass}");
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = ProcessCpuClock.Read(0) - cpuBefore ?? TimeSpan.Zero;
        var calls = Calls() - callsBefore;
        return new ExportRun(
            passes.Sum(p => p.RecordsClaimed), passes.Count, elapsed, cpu,
            passes.Sum(p => p.BucketsAccepted), passes.Sum(p => p.BucketsRetrying), passes.Sum(p => p.BucketsDeadLettered),
            string.Join('+', passes.Select(p => p.Transport).Where(t => t != "none").Distinct()),
            calls);
    }

    /// <summary>
    /// What the ledger and the fake Stripe hold afterwards: every bucket accepted, one accepted meter event per bucket
    /// and none twice, and per customer and meter the fake's total equal to the sum of the customer's usage records.
    /// </summary>
    public ExportCheck Verify()
    {
        var ledger = new Dictionary<(string StripeCustomer, string Meter), long>();
        using (var connection = _connections.OpenForReading())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT c."StripeCustomerId", SUM(r."PromptTokens"), SUM(r."CompletionTokens")
                FROM "UsageRecords" r JOIN "Customers" c ON c."Id" = r."CustomerId" GROUP BY c."StripeCustomerId"
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                ledger[(reader.GetString(0), MeterKind.InputTokens)] = reader.GetInt64(1);
                ledger[(reader.GetString(0), MeterKind.OutputTokens)] = reader.GetInt64(2);
            }
        }

        var options = _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<StripeOptions>>().Value;
        var events = _stripe.AcceptedEvents;
        var mismatches = new List<string>();
        foreach (var ((stripeCustomer, meter), tokens) in ledger)
        {
            long total = _stripe.TotalFor(stripeCustomer, options.EventName(meter));
            if (total != tokens)
            {
                mismatches.Add(string.Create(CultureInfo.InvariantCulture, $"{stripeCustomer} {meter}: ledger {tokens}, Stripe {total}"));
            }
        }

        return new ExportCheck(
            Scalar("""SELECT COUNT(*) FROM "ExportBuckets" """),
            Scalar("""SELECT COUNT(*) FROM "ExportBuckets" WHERE "Status" = 'accepted'"""),
            Scalar("""SELECT COUNT(*) FROM "ExportQueue" """),
            events.Count,
            events.Select(e => e.Identifier).Distinct(StringComparer.Ordinal).Count(),
            _stripe.DuplicatesRejected,
            ledger.Count,
            ledger.Values.Sum(),
            mismatches);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private StripeCalls Calls() => new(
        _stripe.CallCount(StripeEndpoint.MeterEvents), _stripe.CallCount(StripeEndpoint.MeterEventStream), _stripe.CallCount(StripeEndpoint.MeterEventSession), _stripe.TotalCalls);

    private long Scalar(string sql)
    {
        using var connection = _connections.OpenForReading();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static DbParameter Parameter(DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }
}

/// <summary>What was seeded: records, customers, minutes, and the (customer, meter, minute) triples they cover: the fewest buckets possible.</summary>
internal sealed record SeededUsage(int Records, int Customers, int Minutes, int CustomerMeterMinutes, TimeSpan Elapsed);

/// <summary>HTTP calls the fake Stripe received, by kind.</summary>
internal readonly record struct StripeCalls(int MeterEvents, int MeterEventStream, int MeterEventSession, int Total)
{
    public static StripeCalls operator -(StripeCalls after, StripeCalls before) =>
        new(after.MeterEvents - before.MeterEvents, after.MeterEventStream - before.MeterEventStream, after.MeterEventSession - before.MeterEventSession, after.Total - before.Total);

    /// <summary>Calls that carried meter events (v1 one each, v2 up to 100 each); sessions are counted apart.</summary>
    public int EventCalls => MeterEvents + MeterEventStream;
}

/// <summary>The timed export: records claimed into buckets, passes, wall and CPU time, bucket outcomes, transports and Stripe calls.</summary>
internal sealed record ExportRun(
    int Records, int Passes, TimeSpan Elapsed, TimeSpan Cpu, int BucketsAccepted, int BucketsRetrying, int BucketsDeadLettered, string Transport, StripeCalls Calls)
{
    public double RecordsPerSecond => Records / Elapsed.TotalSeconds;

    public double CpuUsPerRecord => Records == 0 ? 0 : Cpu.TotalMicroseconds / Records;

    /// <summary>Per 10,000 requests (usage records): HTTP calls to Stripe, sessions included.</summary>
    public double CallsPer10k => Records == 0 ? 0 : Calls.Total * 10_000.0 / Records;
}

/// <summary>Read back after the export: the ledger's buckets and outbox, the fake's accepted events, and any total that differs.</summary>
internal sealed record ExportCheck(
    long Buckets, long BucketsAccepted, long OutboxLeft, int EventsAccepted, int DistinctIdentifiers, int DuplicatesRejected,
    int CustomerMeters, long LedgerTokens, IReadOnlyList<string> Mismatches);
