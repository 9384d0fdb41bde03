using Serverless.Core.Dashboard;

namespace Serverless.Core.Tests.Dashboard;

public sealed class DashboardForecastTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 11, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset PeriodEnd = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_forecast_adds_the_last_weeks_rate_over_the_rest_of_the_period()
    {
        // $0.10 a day over the last 7 days, 20 days left, $1 spent: $3 at the end of the month.
        var forecast = DashboardOverview.Forecast(Now, PeriodEnd, 1_000_000, Now.AddDays(-7), 700_000, null);
        Assert.Equal(3_000_000, forecast.ForecastMicroUsd);
        Assert.False(forecast.ExceedsBudget);
        Assert.Null(forecast.BudgetReachedAt);
    }

    [Fact]
    public void A_cap_within_reach_at_that_rate_gives_the_day_it_is_reached()
    {
        // $2.50 cap: $1.50 to go at $0.10 a day is 15 days.
        var forecast = DashboardOverview.Forecast(Now, PeriodEnd, 1_000_000, Now.AddDays(-7), 700_000, 2_500_000);
        Assert.True(forecast.ExceedsBudget);
        Assert.Equal(Now.AddDays(15).ToUnixTimeSeconds(), forecast.BudgetReachedAt);

        var within = DashboardOverview.Forecast(Now, PeriodEnd, 1_000_000, Now.AddDays(-7), 700_000, 5_000_000);
        Assert.False(within.ExceedsBudget);
        Assert.Null(within.BudgetReachedAt);
    }

    [Fact]
    public void A_cap_already_spent_is_reached_now_and_no_usage_forecasts_the_spend_so_far()
    {
        var spent = DashboardOverview.Forecast(Now, PeriodEnd, 3_000_000, Now.AddDays(-7), 700_000, 2_500_000);
        Assert.Equal(Now.ToUnixTimeSeconds(), spent.BudgetReachedAt);

        var idle = DashboardOverview.Forecast(Now, PeriodEnd, 1_234_567, Now.AddDays(-7), 0, 2_500_000);
        Assert.Equal(1_234_567, idle.ForecastMicroUsd);
        Assert.Null(idle.BudgetReachedAt);
    }
}
