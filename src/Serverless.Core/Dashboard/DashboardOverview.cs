using System.Globalization;
using Serverless.Core.Keys;
using Serverless.Core.Metering;

namespace Serverless.Core.Dashboard;

/// <summary>
/// The numbers of the dashboard's overview. Every figure comes from <see cref="UsageQueries.GroupAsync"/>, the query
/// behind GET /v1/usage, over the same ranges the usage API uses, so the page and the API cannot disagree.
/// </summary>
public sealed class DashboardOverview(UsageQueries usage, LimitPolicies limits, ApiKeyService keys, TimeProvider time)
{
    public const int ChartDays = 30;

    /// <summary>The forecast extrapolates the average spend rate of this window.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromDays(7);

    public async Task<OverviewObject> BuildAsync(string customerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        var now = time.GetUtcNow();
        var periodStart = MeteringClock.PeriodStart(now);
        var periodEnd = MeteringClock.PeriodEnd(now);

        var byModel = await usage.GroupAsync(customerId, periodStart, periodEnd, UsageGrouping.Model, cancellationToken);
        var byKey = await usage.GroupAsync(customerId, periodStart, periodEnd, UsageGrouping.Key, cancellationToken);
        var period = Sum(byModel);
        var (dailyStart, dailyEnd, daily) = await DailyAsync(customerId, now, cancellationToken);
        var policy = await limits.GetAsync(LimitScope.Customer, customerId, cancellationToken);
        var budget = new BudgetObject(policy?.SpendCapMicroUsd, policy?.TokenCap, period.CostMicroUsd, period.PromptTokens + period.CompletionTokens);

        var windowStart = now - RateWindow;
        long windowCost = Sum(await usage.GroupAsync(customerId, windowStart, now, UsageGrouping.Model, cancellationToken)).CostMicroUsd;
        var forecast = Forecast(now, periodEnd, period.CostMicroUsd, windowStart, windowCost, policy?.SpendCapMicroUsd);

        var names = (await keys.ListAsync(customerId, cancellationToken)).ToDictionary(k => k.KeyId, k => k.Name, StringComparer.Ordinal);
        return new OverviewObject(
            customerId,
            now.ToUnixTimeSeconds(),
            periodStart.ToUnixTimeSeconds(),
            periodEnd.ToUnixTimeSeconds(),
            UsageTotalsObject.From(period),
            budget,
            forecast,
            dailyStart.ToUnixTimeSeconds(),
            dailyEnd.ToUnixTimeSeconds(),
            daily,
            byModel.Select(g => Breakdown(g, null)).ToList(),
            byKey.Select(g => Breakdown(g, names.GetValueOrDefault(g.Group))).ToList());
    }

    /// <summary>The last <see cref="ChartDays"/> UTC days up to and including today, one entry per day.</summary>
    public async Task<(DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<DailyUsageObject> Days)> DailyAsync(string customerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var end = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1);
        var start = end.AddDays(-ChartDays);
        var groups = (await usage.GroupAsync(customerId, start, end, UsageGrouping.Day, cancellationToken)).ToDictionary(g => g.Group, g => g.Totals, StringComparer.Ordinal);
        var days = new List<DailyUsageObject>(ChartDays);
        for (var day = start; day < end; day = day.AddDays(1))
        {
            string label = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var totals = groups.GetValueOrDefault(label) ?? UsageTotals.Zero;
            days.Add(new DailyUsageObject(label, totals.Requests, totals.PromptTokens, totals.CompletionTokens, totals.CostMicroUsd));
        }

        return (start, end, days);
    }

    /// <summary>
    /// Spend so far plus the rate window's average spend rate over the rest of the period, in exact integer
    /// arithmetic (rounded to the nearest micro-USD), and when that rate reaches the spend cap.
    /// </summary>
    public static ForecastObject Forecast(DateTimeOffset now, DateTimeOffset periodEnd, long spent, DateTimeOffset windowStart, long windowCost, long? spendCap)
    {
        long windowMs = Math.Max(1, (now - windowStart).Ticks / TimeSpan.TicksPerMillisecond);
        long remainingMs = Math.Max(0, (periodEnd - now).Ticks / TimeSpan.TicksPerMillisecond);
        long rest = (long)(((Int128)Math.Max(0, windowCost) * remainingMs + (windowMs / 2)) / windowMs);
        long forecast = spent + rest;
        long? reachedAt = null;
        if (spendCap is long cap)
        {
            if (spent >= cap)
            {
                reachedAt = now.ToUnixTimeSeconds();
            }
            else if (windowCost > 0)
            {
                Int128 msToCap = (((Int128)(cap - spent) * windowMs) + windowCost - 1) / windowCost;
                if (msToCap <= remainingMs)
                {
                    reachedAt = now.AddMilliseconds((long)msToCap).ToUnixTimeSeconds();
                }
            }
        }

        return new ForecastObject(windowStart.ToUnixTimeSeconds(), now.ToUnixTimeSeconds(), windowCost, forecast, spendCap is long c && forecast > c, reachedAt);
    }

    private static UsageTotals Sum(IEnumerable<UsageGroup> groups) => groups.Aggregate(UsageTotals.Zero, (sum, g) => sum.Add(g.Totals));

    private static BreakdownObject Breakdown(UsageGroup group, string? name) =>
        new(group.Group, name, group.Totals.Requests, group.Totals.PromptTokens, group.Totals.CompletionTokens, group.Totals.CostMicroUsd);
}
