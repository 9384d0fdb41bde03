using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Billing;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>A seeded customer: its id, display name and keys by role (the full key text only where a test signs in with it).</summary>
public sealed record SeededCustomer(string Id, string Name, CreatedApiKey SignInKey, IReadOnlyList<ApiKeyInfo> OtherKeys);

/// <summary>
/// Five weeks of history for two customers, written straight into the service's database the way the ledger,
/// the exporter, the reconciler and Stripe's webhooks would have left it: usage records over two models and
/// several keys (the previous month included), export buckets and outbox rows, a reconciliation run, invoices
/// and a budget. Deterministic (fixed random seed) apart from "now".
/// </summary>
internal static class DashboardSeed
{
    public const string LargeModel = "demo-large";

    private const string IdAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // $3 / $15 per million input / output tokens: a bigger model than the demo one, so the seeded spend is in dollars.
    public const long LargeInputPrice = 3_000_000;
    public const long LargeOutputPrice = 15_000_000;

    public const long GlobexSpendCap = 25_000_000;
    public const long GlobexTokenCap = 5_000_000;

    /// <summary>A key name that is an XSS payload; it belongs to the second customer and has usage, so it shows in several tables.</summary>
    public const string XssKeyName = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>\"'&amp;";

    public static async Task<(SeededCustomer Globex, SeededCustomer Initech)> SeedAsync(ServiceFixture service)
    {
        var keys = service.Services.GetRequiredService<ApiKeyService>();
        var prices = service.Services.GetRequiredService<PriceBook>();
        var limits = service.Services.GetRequiredService<LimitPolicies>();
        var none = CancellationToken.None;
        var now = DateTimeOffset.UtcNow;
        var largePrice = await prices.SetAsync(LargeModel, LargeInputPrice, LargeOutputPrice, 5_000, DateTimeOffset.UnixEpoch, none);
        var demoPrice = await prices.CurrentAsync("demo", none);

        var production = await keys.CreateAsync("globex", "Production backend", null, null, ApiKeyPermissions.All, none);
        var staging = await keys.CreateAsync("globex", "Staging", ["demo"], null, none);
        var ci = await keys.CreateAsync("globex", "CI pipeline", null, now.AddDays(30), none);
        var laptop = await keys.CreateAsync("globex", "Old laptop", null, null, none);
        await keys.RevokeAsync(laptop.Info.KeyId, none);

        var initechMain = await keys.CreateAsync("initech", "Initech API", null, null, ApiKeyPermissions.All, none);
        var initechXss = await keys.CreateAsync("initech", XssKeyName, null, null, none);

        await limits.SetAsync(LimitScope.Customer, "globex", null, null, GlobexSpendCap, GlobexTokenCap, none);

        var random = new Random(20261126);
        var records = new List<UsageRecord>();
        var models = new[] { ("demo", demoPrice!), (LargeModel, largePrice) };
        AddHistory(records, random, "globex", now, 35, 14, 34, [(production.Info.KeyId, 60), (staging.Info.KeyId, 25), (ci.Info.KeyId, 15)], models);
        AddHistory(records, random, "initech", now, 12, 1, 4, [(initechMain.Info.KeyId, 70), (initechXss.Info.KeyId, 30)], models);

        await using (var db = service.Database())
        {
            foreach (var (id, name) in new[] { ("globex", "Globex Corporation"), ("initech", "Initech") })
            {
                var customer = await db.Customers.SingleAsync(c => c.Id == id);
                customer.Name = name;
                if (id == "globex")
                {
                    customer.StripeCustomerId = "cus_TestGlobex0001";
                    customer.SubscriptionStatus = "active";
                }
            }

            db.AddRange(records);

            // Keys were last used by their latest request (the API records that as it authenticates).
            foreach (var latest in records.GroupBy(r => r.KeyId).Select(g => g.MaxBy(r => r.EndedAt)!))
            {
                var key = await db.ApiKeys.SingleAsync(k => k.KeyId == latest.KeyId);
                key.LastUsedAt = latest.StartedAt;
            }

            await db.SaveChangesAsync();
        }

        await SeedBillingAsync(service, records, now);
        var globex = new SeededCustomer("globex", "Globex Corporation", production, [staging.Info, ci.Info, laptop.Info]);
        var initech = new SeededCustomer("initech", "Initech", initechMain, [initechXss.Info]);
        return (globex, initech);
    }

    private static void AddHistory(
        List<UsageRecord> records, Random random, string customer, DateTimeOffset now, int days, int minPerDay, int maxPerDay,
        (string KeyId, int Weight)[] keys, (string Model, Price Price)[] models)
    {
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        for (int back = days; back >= 0; back--)
        {
            var dayStart = today.AddDays(-back);
            var dayEnd = back == 0 ? now.AddMinutes(-2) : dayStart.AddDays(1);
            if (dayEnd <= dayStart)
            {
                continue;
            }

            // Weekdays are busier, and usage grows over the weeks.
            int perDay = random.Next(minPerDay, maxPerDay + 1) * (dayStart.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 1 : 2) * (60 - back) / 60;
            if (back == 0)
            {
                perDay = Math.Max(1, (int)(perDay * (dayEnd - dayStart).TotalHours / 24));
            }

            for (int i = 0; i < perDay; i++)
            {
                var ended = dayStart.AddMilliseconds(random.NextInt64(0, (long)(dayEnd - dayStart).TotalMilliseconds));
                var (model, price) = random.Next(100) < 55 ? models[0] : models[1];
                string key = Pick(random, keys);
                int roll = random.Next(100);
                string outcome = roll < 80 ? UsageOutcome.Completed : roll < 94 ? UsageOutcome.Length : roll < 98 ? UsageOutcome.ClientDisconnected : UsageOutcome.Rejected;
                long prompt = outcome == UsageOutcome.Rejected ? 0 : random.Next(120, model == LargeModel ? 4200 : 1800);
                long completion = outcome == UsageOutcome.Rejected ? 0 : random.Next(20, model == LargeModel ? 1100 : 600);
                records.Add(new UsageRecord
                {
                    RequestId = "req_" + new string(Enumerable.Range(0, 24).Select(_ => IdAlphabet[random.Next(IdAlphabet.Length)]).ToArray()),
                    KeyId = key,
                    CustomerId = customer,
                    Model = model,
                    PromptTokens = prompt,
                    CompletionTokens = completion,
                    PriceVersion = price.Id,
                    CostMicroUsd = CostCalculator.CostMicroUsd(prompt, completion, price.InputMicroUsdPerMillion, price.OutputMicroUsdPerMillion),
                    StartedAt = ended.AddMilliseconds(-random.Next(300, 9000)),
                    EndedAt = ended,
                    Outcome = outcome,
                    InstanceId = "seed",
                });
            }
        }
    }

    private static string Pick(Random random, (string KeyId, int Weight)[] keys)
    {
        int roll = random.Next(keys.Sum(k => k.Weight));
        foreach (var (keyId, weight) in keys)
        {
            if ((roll -= weight) < 0)
            {
                return keyId;
            }
        }

        return keys[^1].KeyId;
    }

    /// <summary>
    /// Globex is billed through Stripe: days before today were exported (accepted), today's usage is half in a
    /// pending bucket and half still in the outbox. Initech has no Stripe customer, so all of its usage waits
    /// in the outbox. A reconciliation ran two hours ago over the last three days, and invoices came in by webhook.
    /// </summary>
    private static async Task SeedBillingAsync(ServiceFixture service, List<UsageRecord> records, DateTimeOffset now)
    {
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var periodStart = MeteringClock.PeriodStart(now);
        await using var db = service.Database();
        var billable = records.Where(r => UsageOutcome.IsBillable(r.Outcome)).ToList();
        var buckets = new List<ExportBucket>();
        int todayIndex = 0;
        foreach (var record in billable.OrderBy(r => r.EndedAt))
        {
            bool isToday = record.EndedAt >= today;
            if (record.CustomerId == "initech" || (isToday && todayIndex++ % 2 == 1))
            {
                db.Add(new ExportQueueItem { RecordId = record.Id, CustomerId = record.CustomerId, EndedAt = record.EndedAt, PromptTokens = record.PromptTokens, CompletionTokens = record.CompletionTokens });
            }
            else
            {
                var dayStart = new DateTimeOffset(record.EndedAt.UtcDateTime.Date, TimeSpan.Zero);
                foreach (var (meter, value) in new[] { (MeterKind.InputTokens, record.PromptTokens), (MeterKind.OutputTokens, record.CompletionTokens) })
                {
                    string status = isToday ? ExportStatus.Pending : ExportStatus.Accepted;
                    var bucket = buckets.FirstOrDefault(b => b.BucketStart == dayStart && b.Meter == meter && b.Status == status);
                    if (bucket is null)
                    {
                        bucket = new ExportBucket
                        {
                            CustomerId = "globex",
                            StripeCustomerId = "cus_TestGlobex0001",
                            Meter = meter,
                            EventName = meter == MeterKind.InputTokens ? "svl_input_tokens" : "svl_output_tokens",
                            BucketStart = dayStart,
                            Sequence = buckets.Count(b => b.BucketStart == dayStart && b.Meter == meter) + 1,
                            Identifier = ExportClaimCommand.Identifier("globex", meter, dayStart.ToUnixTimeMilliseconds(), buckets.Count + 1),
                            Status = status,
                            Attempts = isToday ? 0 : 1,
                            NextAttemptAt = now,
                            Transport = isToday ? null : "v1",
                            CreatedAt = dayStart.AddHours(1),
                            AcceptedAt = isToday ? null : dayStart.AddHours(1),
                        };
                        buckets.Add(bucket);
                    }

                    bucket.Value += value;
                    bucket.Records++;
                }
            }
        }

        db.AddRange(buckets);

        var lines = new List<ReconciliationLine>();
        foreach (string customer in new[] { "globex", "initech" })
        {
            for (var day = today.AddDays(-2); day <= today; day = day.AddDays(1))
            {
                var dayRecords = billable.Where(r => r.CustomerId == customer && r.EndedAt >= day && r.EndedAt < day.AddDays(1) && r.EndedAt < now.AddHours(-2)).ToList();
                foreach (var (meter, ledger) in new[] { (MeterKind.InputTokens, dayRecords.Sum(r => r.PromptTokens)), (MeterKind.OutputTokens, dayRecords.Sum(r => r.CompletionTokens)) })
                {
                    bool pending = customer == "initech" || day == today;
                    long exported = pending ? 0 : ledger;
                    lines.Add(new ReconciliationLine(customer, meter, day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), ledger, exported, ledger - exported, exported,
                        pending && ledger > 0 ? ReconciliationStatus.PendingExport : ReconciliationStatus.Ok, null));
                }
            }
        }

        db.Add(new ReconciliationRun
        {
            RanAt = now.AddHours(-2),
            RangeStart = today.AddDays(-2),
            RangeEnd = today.AddDays(1),
            Differences = 0,
            Corrections = 0,
            Report = System.Text.Json.JsonSerializer.Serialize(lines, ReconciliationReportJsonContext.Default.ListReconciliationLine),
        });

        long Cents(string customer, DateTimeOffset from, DateTimeOffset to) =>
            (records.Where(r => r.CustomerId == customer && r.EndedAt >= from && r.EndedAt < to).Sum(r => r.CostMicroUsd) + 5_000) / 10_000;
        var previous = periodStart.AddMonths(-1);
        db.Add(new BillingPeriod
        {
            InvoiceId = "in_1GlobexPrevious01",
            CustomerId = "globex",
            Status = "paid",
            PeriodStart = previous,
            PeriodEnd = periodStart,
            AmountDue = Cents("globex", previous, periodStart),
            AmountPaid = Cents("globex", previous, periodStart),
            Currency = "usd",
            HostedInvoiceUrl = "https://invoice.stripe.com/i/acct_1Test/test_globex_previous",
            UpdatedAt = periodStart.AddHours(2),
        });
        db.Add(new BillingPeriod
        {
            InvoiceId = "in_1GlobexCurrent001",
            CustomerId = "globex",
            Status = "draft",
            PeriodStart = periodStart,
            PeriodEnd = periodStart.AddMonths(1),
            AmountDue = Cents("globex", periodStart, now),
            AmountPaid = 0,
            Currency = "usd",
            UpdatedAt = now.AddHours(-1),
        });

        // A hostile URL in webhook data must never become a link.
        db.Add(new BillingPeriod
        {
            InvoiceId = "in_1InitechScript01",
            CustomerId = "initech",
            Status = "open",
            PeriodStart = periodStart,
            PeriodEnd = periodStart.AddMonths(1),
            AmountDue = 1234,
            AmountPaid = 0,
            Currency = "usd",
            HostedInvoiceUrl = "javascript:window.__xss=3",
            UpdatedAt = now.AddHours(-1),
        });
        await db.SaveChangesAsync();
    }
}
