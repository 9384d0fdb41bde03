using System.Globalization;
using System.Text;
using System.Text.Json;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>What the billing mode measured: a readable table, then one JSON object as the last line.</summary>
internal sealed class BillingReport(BenchmarkArguments arguments)
{
    public const double RecordsPerSecondTarget = 10_000;

    // As for the other modes: before the run the load is other work's; the run itself adds about 1-2.
    private const double BusyAtEnd = 3.0;

    public List<BillingRun> Runs { get; } = [];

    public (double Start, double End) LoadAverage { get; set; }

    /// <summary>The run with the service's own settings: the headline.</summary>
    public BillingRun Default => Runs[0];

    /// <summary>Every run sent one meter event per bucket (never one per request), and each bucket once.</summary>
    public bool EventsMatchBuckets => Runs.All(r => r.Check.EventsAccepted == r.Check.Buckets && r.Check.Buckets < r.Export.Records);

    public void Print(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Table());
        output.WriteLine(Json());
    }

    public string Table()
    {
        var text = new StringBuilder();
        Header(text, "Billing export benchmark", LoadAverage, BusyAtEnd, "cpu us/record");

        var seeded = Default.Seeded;
        Line(text, $"per run: a fresh SQLite ledger with {seeded.Records} settled usage records and their outbox rows, {seeded.Customers} customers, EndedAt over {seeded.Minutes} minutes (in time order) = {seeded.CustomerMeterMinutes} customer-meter-minutes, the fewest 1-minute buckets possible");
        Line(text, $"timed: UsageExporter.RunPassAsync until the outbox is empty and no bucket is pending (claims into buckets through the ledger writer, then the due buckets to a fake Stripe in this process over loopback HTTP, Stripe.net in between)");
        text.AppendLine();
        Line(text, $"{"run",-10} {"transport",9} {"threshold",13} {"records/s",10} {"wall s",7} {"passes",6} {"buckets",8} {"events",7} {"event calls",11} {"sessions",8} {"http calls",10} {"events/10k req",14} {"calls/10k req",13} {"cpu us/rec",10}");
        foreach (var r in Runs)
        {
            var e = r.Export;
            Line(text, $"{r.Name,-10} {e.Transport,9} {r.StreamThreshold,13} {e.RecordsPerSecond,10:0} {e.Elapsed.TotalSeconds,7:0.00} {e.Passes,6} {r.Check.Buckets,8} {r.Check.EventsAccepted,7} {e.Calls.EventCalls,11} {e.Calls.MeterEventSession,8} {e.Calls.Total,10} {r.MeterEventsPer10k,14:0.0} {e.CallsPer10k,13:0.0} {e.CpuUsPerRecord,10:0.0}");
        }

        text.AppendLine();
        Line(text, $"events: meter events the fake accepted; event calls: v1 meter event calls or v2 stream calls (up to 100 events each); sessions: v2 meter event sessions; http calls: all calls to the fake during the export; cpu: this process, exporter and fake Stripe together");
        foreach (var r in Runs)
        {
            Line(text, $"{r.Name}: verified: {r.Check.BucketsAccepted} of {r.Check.Buckets} buckets accepted, {r.Check.EventsAccepted} events with distinct identifiers (no duplicates refused), outbox empty, and for all {r.Check.CustomerMeters} customer-meters the fake's total = the ledger's sum ({r.Check.LedgerTokens} tokens)");
        }

        long extra = Default.Check.Buckets - seeded.CustomerMeterMinutes;
        Line(text, $"buckets beyond one per customer-meter-minute: {extra} (a minute whose records straddle two claims of Stripe:ClaimBatchSize gets a second bucket)");
        Line(text, $"export records/s (default settings) {Default.Export.RecordsPerSecond:0}   target >= {RecordsPerSecondTarget:0}  {Verdict(Default.Export.RecordsPerSecond >= RecordsPerSecondTarget)}");
        Line(text, $"meter events = buckets, not requests: {string.Join(", ", Runs.Select(r => $"{r.Name} {r.Check.EventsAccepted} events for {r.Check.Buckets} buckets and {r.Export.Records} requests"))}  {Verdict(EventsMatchBuckets)}");
        text.AppendLine();
        return text.ToString();
    }

    public string Json() => JsonLine(arguments.Mode, LoadAverage, json =>
    {
        json.WriteNumber("records", Default.Seeded.Records);
        json.WriteNumber("customers", Default.Seeded.Customers);
        json.WriteNumber("minutes", Default.Seeded.Minutes);
        json.WriteNumber("customer_meter_minutes", Default.Seeded.CustomerMeterMinutes);
        json.WriteNumber("export_records_per_s", Round(Default.Export.RecordsPerSecond, 0));
        json.WriteNumber("stripe_calls_per_10k_requests", Round(Default.Export.CallsPer10k, 1));
        // Meter events follow buckets, not requests: these two are equal when every bucket became exactly one event.
        json.WriteNumber("buckets", Default.Check.Buckets);
        json.WriteNumber("buckets_per_10k_requests", Round(Default.Export.Records == 0 ? 0 : Default.Check.Buckets * 10_000.0 / Default.Export.Records, 1));
        json.WriteNumber("meter_events_per_10k_requests", Round(Default.MeterEventsPer10k, 1));
        foreach (var r in Runs)
        {
            string prefix = r == Default ? "default" : "v1";
            json.WriteString($"{prefix}_transport", r.Export.Transport);
            json.WriteNumber($"{prefix}_records_per_s", Round(r.Export.RecordsPerSecond, 0));
            json.WriteNumber($"{prefix}_seconds", Round(r.Export.Elapsed.TotalSeconds, 3));
            json.WriteNumber($"{prefix}_passes", r.Export.Passes);
            json.WriteNumber($"{prefix}_buckets", r.Check.Buckets);
            json.WriteNumber($"{prefix}_meter_events", r.Check.EventsAccepted);
            json.WriteNumber($"{prefix}_event_calls", r.Export.Calls.EventCalls);
            json.WriteNumber($"{prefix}_session_calls", r.Export.Calls.MeterEventSession);
            json.WriteNumber($"{prefix}_http_calls", r.Export.Calls.Total);
            json.WriteNumber($"{prefix}_stripe_calls_per_10k_requests", Round(r.Export.CallsPer10k, 1));
            json.WriteNumber($"{prefix}_meter_events_per_10k_requests", Round(r.MeterEventsPer10k, 1));
            json.WriteNumber($"{prefix}_cpu_us_per_record", Round(r.Export.CpuUsPerRecord, 1));
        }

        json.WriteBoolean("totals_match_ledger", Runs.All(r => r.Check.Mismatches.Count == 0));
        json.WriteStartObject("targets_met");
        json.WriteBoolean("export_records_per_s", Default.Export.RecordsPerSecond >= RecordsPerSecondTarget);
        json.WriteBoolean("meter_events_equal_buckets", EventsMatchBuckets);
        json.WriteEndObject();
    });

    private static string Verdict(bool met) => met ? "met" : "MISSED";

}
