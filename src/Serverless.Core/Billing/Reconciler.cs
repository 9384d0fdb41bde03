using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Stripe;
using Stripe.Billing;

namespace Serverless.Core.Billing;

/// <summary>
/// One customer, meter and UTC day: what the ledger holds, what was exported, what is still on its way, what Stripe
/// refused, what Stripe's meter event summaries say, and what was done about a difference. The ledger, exported,
/// pending and dead-lettered columns count usage by the day it was used (ledger = exported + pending + dead_lettered);
/// Stripe counts events by the day they are timestamped. Late usage (<see cref="LateUsage"/>) is timestamped later than
/// its day: <paramref name="LateOut"/> of this day's exported tokens Stripe holds on a later day, and
/// <paramref name="LateIn"/> tokens of earlier days it holds on this one. Stripe should hold exported − late_out + late_in.
/// </summary>
/// <param name="DeadLettered">Tokens of this day in events Stripe refused permanently: Stripe will not bill them until an operator retries them.</param>
public sealed record ReconciliationLine(
    string CustomerId, string Meter, string Day, long Ledger, long Exported, long Pending, long Stripe, string Status, string? Action,
    long DeadLettered = 0, long LateOut = 0, long LateIn = 0)
{
    /// <summary>What Stripe should hold for this day once nothing is pending.</summary>
    public long ExpectedInStripe => Exported - LateOut + LateIn;
}

public sealed record ReconciliationResult(long RunId, DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<ReconciliationLine> Lines)
{
    /// <summary>Lines whose difference remains after this run (corrected lines and usage on its way are not).</summary>
    public int Differences => Lines.Count(l => ReconciliationStatus.IsDifference(l.Status));

    public int Corrections => Lines.Count(l => l.Action is not null && l.Status == ReconciliationStatus.Corrected);

    /// <summary>Tokens Stripe refused permanently, over all lines.</summary>
    public long DeadLettered => Lines.Sum(l => l.DeadLettered);
}

public static class ReconciliationStatus
{
    public const string Ok = "ok";
    public const string PendingExport = "pending_export";
    public const string Mismatch = "mismatch";
    public const string Corrected = "corrected";
    public const string LedgerMismatch = "ledger_mismatch";

    /// <summary>Some of the day's usage is in dead-lettered events: money Stripe does not have. Never corrected automatically.</summary>
    public const string DeadLettered = "dead_lettered";

    /// <summary>Whether a line with this status is a difference an operator must act on.</summary>
    public static bool IsDifference(string status) => status is Mismatch or LedgerMismatch or DeadLettered;
}

/// <summary>
/// Compares, per customer, meter and day, the ledger with the buckets exported from it and with Stripe's meter
/// event summaries; optionally corrects Stripe (a supplementary event when Stripe has less, a meter event
/// adjustment cancelling recent events when it has more). Every run is stored for the dashboard.
/// </summary>
public sealed partial class Reconciler(
    LedgerConnections connections,
    IDbContextFactory<ServerlessDbContext> databases,
    StripeClientFactory clients,
    MeterEventSender sender,
    IOptions<StripeOptions> options,
    TimeProvider time,
    ILogger<Reconciler> logger)
{
    private const long DayMs = 86_400_000;

    private readonly StripeOptions _options = options.Value;

    public (DateTimeOffset Start, DateTimeOffset End) DefaultRange()
    {
        var today = new DateTimeOffset(time.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero);
        return (today.AddDays(1 - _options.ReconcileDays), today.AddDays(1));
    }

    public async Task<ReconciliationResult> RunAsync(DateTimeOffset? start, DateTimeOffset? end, bool correct, CancellationToken cancellationToken)
    {
        var (defaultStart, defaultEnd) = DefaultRange();
        var from = DayStart(start ?? defaultStart);
        var to = DayStart(end ?? defaultEnd);
        if (to <= from)
        {
            throw new ArgumentException("The end of the range must be after its start.", nameof(end));
        }

        var ledger = await SumLedgerAsync(from, to, cancellationToken);
        var buckets = await SumBucketsAsync(from, to, cancellationToken);
        var lateIn = await SumLateInAsync(from, to, cancellationToken);
        var stripeIds = await StripeCustomerIdsAsync(cancellationToken);
        var meters = await MetersAsync(cancellationToken);

        var keys = ledger.Keys.Concat(buckets.Keys).Concat(lateIn.Keys).Distinct().OrderBy(k => k.Customer, StringComparer.Ordinal).ThenBy(k => k.Meter, StringComparer.Ordinal).ThenBy(k => k.Day).ToList();
        var stripe = await StripeTotalsAsync(keys.Select(k => (k.Customer, k.Meter)).Distinct(), stripeIds, meters, from, to, cancellationToken);

        var lines = new List<ReconciliationLine>();
        foreach (var key in keys)
        {
            ledger.TryGetValue(key, out long ledgerTotal);
            buckets.TryGetValue(key, out var b);
            lateIn.TryGetValue(key, out var late);
            stripe.TryGetValue(key, out long stripeTotal);
            string day = DateTimeOffset.FromUnixTimeMilliseconds(key.Day * DayMs).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            long expected = b.Exported - b.LateOut + late.Accepted;
            string status;
            string? action = null;
            if (ledgerTotal != b.Exported + b.Pending + b.DeadLettered)
            {
                status = ReconciliationStatus.LedgerMismatch;
                action = "export state disagrees with the ledger; investigate before billing";
            }
            else if (b.Pending > 0 || late.Pending > 0)
            {
                // Events on their way may already be in Stripe (accepted, answer lost): nothing is corrected until they settle.
                // Late buckets on their way count here too: Stripe would hold them on this day.
                status = ReconciliationStatus.PendingExport;
            }
            else if (stripeTotal == expected)
            {
                status = ReconciliationStatus.Ok;
            }
            else if (correct && _options.Enabled && stripeIds.TryGetValue(key.Customer, out var stripeCustomer) && meters.ContainsKey(key.Meter))
            {
                action = await CorrectAsync(key, stripeCustomer, meters[key.Meter].EventName, expected - stripeTotal, cancellationToken);
                status = action.StartsWith("cannot", StringComparison.Ordinal) ? ReconciliationStatus.Mismatch : ReconciliationStatus.Corrected;
            }
            else
            {
                status = ReconciliationStatus.Mismatch;
            }

            if (b.DeadLettered > 0 && status is not ReconciliationStatus.LedgerMismatch and not ReconciliationStatus.Mismatch)
            {
                // Dead letters are not resent here: Stripe refused them for a cause (a deleted customer, an archived meter)
                // that resending does not fix, and this also runs unattended every few hours. The operator fixes the
                // cause and retries them; late ones then go out under the late-usage policy.
                string held = string.Create(CultureInfo.InvariantCulture,
                    $"{b.DeadLettered} tokens dead-lettered (Stripe refused them and does not bill them); not resent by reconciliation: fix the cause, then 'billing dead-letters --retry'");
                action = action is null ? held : action + "; " + held;
                status = ReconciliationStatus.DeadLettered;
            }

            lines.Add(new ReconciliationLine(key.Customer, key.Meter, day, ledgerTotal, b.Exported, b.Pending, stripeTotal, status, action, b.DeadLettered, b.LateOut, late.Accepted));
        }

        long runId = await StoreAsync(from, to, lines, cancellationToken);
        var result = new ReconciliationResult(runId, from, to, lines);
        LogRun(logger, runId, lines.Count, result.Differences, result.Corrections);
        return result;
    }

    private static DateTimeOffset DayStart(DateTimeOffset time) => new(time.UtcDateTime.Date, TimeSpan.Zero);

    // Brings Stripe to the exported total: add what is missing, or cancel recent events and re-add the excess cancelled.
    private async Task<string> CorrectAsync(Key key, string stripeCustomer, string eventName, long missing, CancellationToken cancellationToken)
    {
        var dayStart = DateTimeOffset.FromUnixTimeMilliseconds(key.Day * DayMs);
        if (dayStart < LateUsage.Cutoff(time.GetUtcNow()))
        {
            // A correction of a day past Stripe's window would be refused, or land on another day and break that day's count.
            return "cannot correct: the day is outside the 35 days Stripe accepts meter events for";
        }

        if (missing > 0)
        {
            return await SendCorrectionAsync(key, stripeCustomer, eventName, dayStart, missing, cancellationToken);
        }

        long excess = -missing;
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var cancellable = await db.Set<ExportBucket>()
            .Where(b => b.CustomerId == key.Customer && b.Meter == key.Meter && b.Status == ExportStatus.Accepted
                && (b.StripeTimestamp ?? b.BucketStart) >= dayStart && (b.StripeTimestamp ?? b.BucketStart) < dayStart.AddDays(1) && b.AcceptedAt > now.AddHours(-23))
            .OrderByDescending(b => b.AcceptedAt)
            .ToListAsync(cancellationToken);
        long removed = 0;
        var client = clients.Create();
        foreach (var bucket in cancellable)
        {
            if (removed >= excess)
            {
                break;
            }

            await client.V1.Billing.MeterEventAdjustments.CreateAsync(new MeterEventAdjustmentCreateOptions
            {
                EventName = bucket.EventName,
                Type = "cancel",
                Cancel = new MeterEventAdjustmentCancelOptions { Identifier = bucket.Identifier },
            }, cancellationToken: cancellationToken);
            bucket.Status = ExportStatus.Cancelled;
            bucket.LastError = "cancelled by reconciliation";
            removed += bucket.Value;
            await db.SaveChangesAsync(cancellationToken);
        }

        if (removed < excess)
        {
            return string.Create(CultureInfo.InvariantCulture, $"cannot correct: Stripe has {excess} more than exported and only {removed} is cancellable (events older than 24 h cannot be cancelled)");
        }

        string action = string.Create(CultureInfo.InvariantCulture, $"cancelled {removed} in recent events");
        if (removed > excess)
        {
            action += "; " + await SendCorrectionAsync(key, stripeCustomer, eventName, dayStart, removed - excess, cancellationToken);
        }

        return action;
    }

    private async Task<string> SendCorrectionAsync(Key key, string stripeCustomer, string eventName, DateTimeOffset dayStart, long value, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var timestamp = dayStart.AddHours(12) < now ? dayStart.AddHours(12) : (now.AddMinutes(-1) > dayStart ? now.AddMinutes(-1) : dayStart);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        int sequence = 1 + await db.Set<ExportBucket>().Where(b => b.CustomerId == key.Customer && b.Meter == key.Meter && b.BucketStart == timestamp).Select(b => (int?)b.Sequence).MaxAsync(cancellationToken) ?? 0;
        var bucket = new ExportBucket
        {
            CustomerId = key.Customer,
            StripeCustomerId = stripeCustomer,
            Meter = key.Meter,
            EventName = eventName,
            BucketStart = timestamp,
            Sequence = sequence,
            Identifier = "svl_fix_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{key.Customer}\n{key.Meter}\n{timestamp.ToUnixTimeMilliseconds()}\n{sequence}"))).Substring(0, 28),
            Value = value,
            Status = ExportStatus.Pending,
            NextAttemptAt = now,
            IsCorrection = true,
            CreatedAt = now,
        };
        db.Add(bucket);
        await db.SaveChangesAsync(cancellationToken);
        var result = await sender.SendAsync(bucket, cancellationToken);
        if (result.Status == DeliveryStatus.Accepted)
        {
            bucket.Status = ExportStatus.Accepted;
            bucket.AcceptedAt = time.GetUtcNow();
            bucket.Transport = "v1";
        }
        else
        {
            bucket.LastError = result.Error;
            bucket.Status = result.Status == DeliveryStatus.Rejected ? ExportStatus.DeadLetter : ExportStatus.Pending;
        }

        bucket.Attempts = 1;
        await db.SaveChangesAsync(cancellationToken);
        return string.Create(CultureInfo.InvariantCulture, $"sent a supplementary event of {value} ({bucket.Identifier}, {bucket.Status})");
    }

    private async Task<Dictionary<Key, long>> SumLedgerAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var totals = new Dictionary<Key, long>();
        await foreach (var (key, tokens) in TokensByDayAsync(LedgerTokensByDay, from, to, cancellationToken))
        {
            Add(totals, key, tokens);
        }

        return totals;
    }

    // Input and output tokens of Stripe-linked customers by customer and UTC day (both queries: customer, day, input, output).
    private const string LedgerTokensByDay = """
        SELECT r."CustomerId", r."EndedAt" / 86400000, SUM(r."PromptTokens"), SUM(r."CompletionTokens")
        FROM "UsageRecords" r JOIN "Customers" c ON c."Id" = r."CustomerId"
        WHERE c."StripeCustomerId" IS NOT NULL AND r."EndedAt" >= @from AND r."EndedAt" < @to
        GROUP BY r."CustomerId", r."EndedAt" / 86400000
        """;

    private const string OutboxTokensByDay = """
        SELECT q."CustomerId", q."EndedAt" / 86400000, SUM(q."PromptTokens"), SUM(q."CompletionTokens")
        FROM "ExportQueue" q JOIN "Customers" c ON c."Id" = q."CustomerId"
        WHERE c."StripeCustomerId" IS NOT NULL AND q."EndedAt" >= @from AND q."EndedAt" < @to
        GROUP BY q."CustomerId", q."EndedAt" / 86400000
        """;

    private async IAsyncEnumerable<(Key Key, long Tokens)> TokensByDayAsync(
        string sql, DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var row in QueryAsync(sql, from, to, cancellationToken))
        {
            long day = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
            yield return (new Key((string)row[0], MeterKind.InputTokens, day), Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
            yield return (new Key((string)row[0], MeterKind.OutputTokens, day), Convert.ToInt64(row[3], CultureInfo.InvariantCulture));
        }
    }

    private async Task<Dictionary<Key, BucketTotals>> SumBucketsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        // Shifted: the accepted tokens Stripe holds on another day than their own (late usage).
        const string buckets = """
            SELECT "CustomerId", "Meter", "BucketStart" / 86400000, "Status", SUM("Value"),
              SUM(CASE WHEN "StripeTimestamp" IS NOT NULL AND "StripeTimestamp" / 86400000 <> "BucketStart" / 86400000 THEN "Value" ELSE 0 END)
            FROM "ExportBuckets" WHERE "IsCorrection" = @false AND "BucketStart" >= @from AND "BucketStart" < @to
            GROUP BY "CustomerId", "Meter", "BucketStart" / 86400000, "Status"
            """;
        var totals = new Dictionary<Key, BucketTotals>();
        await foreach (var row in QueryAsync(buckets, from, to, cancellationToken))
        {
            var key = new Key((string)row[0], (string)row[1], Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
            long value = Convert.ToInt64(row[4], CultureInfo.InvariantCulture);
            long shifted = Convert.ToInt64(row[5], CultureInfo.InvariantCulture);
            totals.TryGetValue(key, out var t);
            totals[key] = (string)row[3] switch
            {
                ExportStatus.Accepted or ExportStatus.Cancelled => t with { Exported = t.Exported + value, LateOut = t.LateOut + shifted },
                ExportStatus.DeadLetter => t with { DeadLettered = t.DeadLettered + value },
                _ => t with { Pending = t.Pending + value },
            };
        }

        await foreach (var (key, tokens) in TokensByDayAsync(OutboxTokensByDay, from, to, cancellationToken))
        {
            totals.TryGetValue(key, out var t);
            totals[key] = t with { Pending = t.Pending + tokens };
        }

        return totals;
    }

    /// <summary>Late usage by the day Stripe holds it on (its shifted timestamp), from earlier days: accepted, and still on its way.</summary>
    private async Task<Dictionary<Key, LateTotals>> SumLateInAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        const string late = """
            SELECT "CustomerId", "Meter", "StripeTimestamp" / 86400000, "Status", SUM("Value")
            FROM "ExportBuckets"
            WHERE "IsCorrection" = @false AND "StripeTimestamp" IS NOT NULL AND "StripeTimestamp" >= @from AND "StripeTimestamp" < @to
              AND "StripeTimestamp" / 86400000 <> "BucketStart" / 86400000
            GROUP BY "CustomerId", "Meter", "StripeTimestamp" / 86400000, "Status"
            """;
        var totals = new Dictionary<Key, LateTotals>();
        await foreach (var row in QueryAsync(late, from, to, cancellationToken))
        {
            var key = new Key((string)row[0], (string)row[1], Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
            long value = Convert.ToInt64(row[4], CultureInfo.InvariantCulture);
            totals.TryGetValue(key, out var t);
            totals[key] = (string)row[3] switch
            {
                ExportStatus.Accepted or ExportStatus.Cancelled => t with { Accepted = t.Accepted + value },
                ExportStatus.Pending => t with { Pending = t.Pending + value },
                _ => t,
            };
        }

        return totals;
    }

    private async Task<Dictionary<Key, long>> StripeTotalsAsync(
        IEnumerable<(string Customer, string Meter)> pairs, Dictionary<string, string> stripeIds, Dictionary<string, BillingMeter> meters,
        DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var totals = new Dictionary<Key, long>();
        if (!_options.Enabled)
        {
            return totals;
        }

        var client = clients.Create();
        foreach (var (customer, meter) in pairs)
        {
            if (!stripeIds.TryGetValue(customer, out var stripeCustomer) || !meters.TryGetValue(meter, out var billingMeter))
            {
                continue;
            }

            await foreach (var summary in client.V1.Billing.Meters.EventSummaries.ListAutoPagingAsync(billingMeter.StripeMeterId, new MeterEventSummaryListOptions
            {
                Customer = stripeCustomer,
                StartTime = from.UtcDateTime,
                EndTime = to.UtcDateTime,
                ValueGroupingWindow = "day",
            }, cancellationToken: cancellationToken))
            {
                long day = new DateTimeOffset(DateTime.SpecifyKind(summary.StartTime, DateTimeKind.Utc)).ToUnixTimeMilliseconds() / DayMs;
                Add(totals, new Key(customer, meter, day), (long)Math.Round(summary.AggregatedValue));
            }
        }

        return totals;
    }

    private async Task<Dictionary<string, string>> StripeCustomerIdsAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Customers.AsNoTracking().Where(c => c.StripeCustomerId != null).ToDictionaryAsync(c => c.Id, c => c.StripeCustomerId!, cancellationToken);
    }

    private async Task<Dictionary<string, BillingMeter>> MetersAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BillingMeter>().AsNoTracking().ToDictionaryAsync(m => m.Kind, cancellationToken);
    }

    private async Task<long> StoreAsync(DateTimeOffset from, DateTimeOffset to, List<ReconciliationLine> lines, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var run = new ReconciliationRun
        {
            RanAt = time.GetUtcNow(),
            RangeStart = from,
            RangeEnd = to,
            Differences = lines.Count(l => ReconciliationStatus.IsDifference(l.Status)),
            Corrections = lines.Count(l => l.Status == ReconciliationStatus.Corrected),
            Report = JsonSerializer.Serialize(lines, ReconciliationReportJsonContext.Default.ListReconciliationLine),
        };
        db.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        return run.Id;
    }

    private async IAsyncEnumerable<object[]> QueryAsync(string sql, DateTimeOffset from, DateTimeOffset to, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.AddParameter("@from", from.ToUnixTimeMilliseconds());
        command.AddParameter("@to", to.ToUnixTimeMilliseconds());
        if (sql.Contains("@false", StringComparison.Ordinal))
        {
            command.AddParameter("@false", false);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            yield return values;
        }
    }

    private static void Add(Dictionary<Key, long> totals, Key key, long value) =>
        totals[key] = totals.TryGetValue(key, out long current) ? current + value : value;

    private readonly record struct Key(string Customer, string Meter, long Day);

    private readonly record struct BucketTotals(long Exported, long Pending, long DeadLettered, long LateOut);

    private readonly record struct LateTotals(long Accepted, long Pending);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation run {RunId}: {Lines} lines, {Differences} differences, {Corrections} corrected")]
    private static partial void LogRun(ILogger logger, long runId, int lines, int differences, int corrections);
}
