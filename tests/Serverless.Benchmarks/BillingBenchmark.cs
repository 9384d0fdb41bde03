using System.Globalization;
using Serverless.Testing.Stripe;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>
/// The <c>billing</c> mode: Stripe usage export throughput, ledger records per second aggregated into buckets and
/// accepted by a fake Stripe, and how many Stripe calls that takes per 10,000 requests. Run twice on fresh ledgers:
/// with the service's default settings (many buckets due: the v2 meter event stream) and with the v1 path forced
/// (one meter event call per bucket). Every run is checked against the ledger to the token.
/// </summary>
internal static class BillingBenchmark
{
    public static async Task<BillingReport> RunAsync(BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        string root = Path.Combine(Path.GetTempPath(), "svl-billing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var report = new BillingReport(arguments) { LoadAverage = (LoadAverage.Read(), double.NaN) };
        try
        {
            report.Runs.Add(await MeasureAsync(Path.Combine(root, "default"), "default", new Dictionary<string, string>(), arguments, cancellationToken));
            // A threshold no pass reaches: every bucket goes through v1, one call each, in parallel lanes per customer and meter.
            report.Runs.Add(await MeasureAsync(Path.Combine(root, "v1"), "v1 forced", new Dictionary<string, string> { ["Stripe:StreamThreshold"] = "1000000" }, arguments, cancellationToken));
            report.LoadAverage = (report.LoadAverage.Start, LoadAverage.Read());
            return report;
        }
        finally
        {
            TryDelete(root);
        }
    }

    private static async Task<BillingRun> MeasureAsync(
        string folder, string name, Dictionary<string, string> settings, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        // A fresh fake per run, so its counters and accepted events are this run's alone.
        await using var stripe = await FakeStripeServer.StartAsync(cancellationToken: cancellationToken);
        await using var export = await BillingExport.CreateAsync(folder, stripe, settings, cancellationToken);
        Progress(string.Create(CultureInfo.InvariantCulture,
            $"{name}: seeding {arguments.LedgerRecords} usage records for {arguments.LedgerCustomers} customers over {arguments.BillingMinutes} minutes"));
        var seeded = await export.SeedAsync(arguments.LedgerRecords, arguments.LedgerCustomers, arguments.BillingMinutes, cancellationToken);
        Progress(string.Create(CultureInfo.InvariantCulture, $"{name}: seeded in {seeded.Elapsed.TotalSeconds:0.0} s; exporting"));
        var run = await export.DrainAsync(cancellationToken);
        Progress(string.Create(CultureInfo.InvariantCulture, $"{name}: {run.RecordsPerSecond:0} records/s, {run.BucketsAccepted} buckets, {run.Calls.Total} Stripe calls ({run.Transport})"));
        var check = export.Verify();

        Check(run.Records == seeded.Records, $"{name}: {run.Records} records claimed of {seeded.Records} seeded");
        Check(check.OutboxLeft == 0, $"{name}: {check.OutboxLeft} records left in the export outbox");
        Check(check.BucketsAccepted == check.Buckets && run.BucketsAccepted == check.Buckets,
            $"{name}: {check.BucketsAccepted} of {check.Buckets} buckets accepted ({run.BucketsAccepted} reported by the passes)");
        Check(check.EventsAccepted == check.Buckets, $"{name}: the fake accepted {check.EventsAccepted} meter events for {check.Buckets} buckets");
        Check(check.DistinctIdentifiers == check.EventsAccepted && check.DuplicatesRejected == 0,
            $"{name}: {check.EventsAccepted} events with {check.DistinctIdentifiers} identifiers, {check.DuplicatesRejected} duplicates refused");
        Check(check.CustomerMeters == seeded.Customers * 2, $"{name}: the ledger has usage for {check.CustomerMeters} customer-meters, expected {seeded.Customers * 2}");
        Check(check.Mismatches.Count == 0, $"{name}: Stripe's totals differ from the ledger's: {string.Join("; ", check.Mismatches)}");
        return new BillingRun(name, settings.GetValueOrDefault("Stripe:StreamThreshold") ?? "50 (default)", seeded, run, check);
    }

    private static void Check(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException("Billing check failed: " + failure);
        }
    }
}

/// <summary>One configuration's export: what was seeded, the timed passes, and what the ledger and the fake held after.</summary>
internal sealed record BillingRun(string Name, string StreamThreshold, SeededUsage Seeded, ExportRun Export, ExportCheck Check)
{
    public double MeterEventsPer10k => Export.Records == 0 ? 0 : Check.EventsAccepted * 10_000.0 / Export.Records;
}
