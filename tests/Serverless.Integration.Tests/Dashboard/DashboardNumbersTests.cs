using System.Globalization;
using System.Text.Json;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>Every number on the page is the usage API's number: totals, breakdowns, and each day of the chart.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardNumbersTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task Totals_breakdowns_and_chart_data_on_the_page_equal_the_usage_api()
    {
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        using var api = dashboard.Api(dashboard.Globex.SignInKey.Key);

        // The current period: GET /v1/usage without a range.
        var total = (await GetAsync(api, "/v1/usage")).GetProperty("total");
        Assert.True(total.GetProperty("requests").GetInt64() > 100, "the seeded month is not empty");
        Assert.Equal(total.GetProperty("cost_micro_usd").GetInt64(), await browser.ValueAsync("#period-cost-value"));
        Assert.Equal(total.GetProperty("prompt_tokens").GetInt64(), await browser.ValueAsync("#period-prompt-tokens-value"));
        Assert.Equal(total.GetProperty("completion_tokens").GetInt64(), await browser.ValueAsync("#period-completion-tokens-value"));
        Assert.Equal(total.GetProperty("requests").GetInt64(), await browser.ValueAsync("#period-requests-value"));

        // What a person reads is the same exact figure, not a rounding of it.
        Assert.Equal(total.GetProperty("cost_micro_usd").GetInt64(), DashboardPage.MicroUsd(await page.Locator("#period-cost-value").TextContentAsync()));
        Assert.Equal(total.GetProperty("prompt_tokens").GetInt64(), Tokens(await page.Locator("#period-prompt-tokens-value").TextContentAsync()));
        Assert.Equal(total.GetProperty("completion_tokens").GetInt64(), Tokens(await page.Locator("#period-completion-tokens-value").TextContentAsync()));

        foreach (var (groupBy, table) in new[] { ("model", "#by-model"), ("key", "#by-key") })
        {
            var groups = (await GetAsync(api, $"/v1/usage?group_by={groupBy}")).GetProperty("data").EnumerateArray().ToList();
            Assert.Equal(groups.Count, await page.Locator($"{table} tbody tr[data-group]").CountAsync());
            foreach (var group in groups)
            {
                string row = $"{table} tbody tr[data-group=\"{group.GetProperty("group").GetString()}\"]";
                foreach (string field in new[] { "requests", "prompt_tokens", "completion_tokens", "cost_micro_usd" })
                {
                    Assert.Equal(group.GetProperty(field).GetInt64(), await browser.ValueAsync($"{row} [data-field={field}]"));
                }
            }
        }

        // The chart: 30 UTC days ending today, each bar's numbers equal that day of GET /v1/usage?group_by=day.
        var days = page.Locator("#chart svg g.day");
        Assert.Equal(30, await days.CountAsync());
        string first = (await days.First.GetAttributeAsync("data-day"))!;
        string last = (await days.Last.GetAttributeAsync("data-day"))!;
        Assert.Equal(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), last);
        string end = DateTime.ParseExact(last, "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var daily = (await GetAsync(api, $"/v1/usage?group_by=day&start={first}&end={end}")).GetProperty("data").EnumerateArray()
            .ToDictionary(d => d.GetProperty("group").GetString()!);
        Assert.True(daily.Count >= 20, "the seeded days are in the range");

        var bars = (await days.EvaluateAllAsync<JsonElement>(
            "gs => gs.map(g => ({ day: g.dataset.day, requests: +g.dataset.requests, prompt: +g.dataset.promptTokens, completion: +g.dataset.completionTokens, cost: +g.dataset.costMicroUsd }))"))
            .EnumerateArray()
            .Select(b => new ChartDay(b.GetProperty("day").GetString()!, b.GetProperty("requests").GetInt64(), b.GetProperty("prompt").GetInt64(), b.GetProperty("completion").GetInt64(), b.GetProperty("cost").GetInt64()))
            .ToList();
        foreach (var bar in bars)
        {
            bool has = daily.TryGetValue(bar.Day, out var d);
            Assert.Equal(has ? d.GetProperty("requests").GetInt64() : 0, bar.Requests);
            Assert.Equal(has ? d.GetProperty("prompt_tokens").GetInt64() : 0, bar.Prompt);
            Assert.Equal(has ? d.GetProperty("completion_tokens").GetInt64() : 0, bar.Completion);
            Assert.Equal(has ? d.GetProperty("cost_micro_usd").GetInt64() : 0, bar.Cost);

            // The table behind "Show the numbers" says the same.
            Assert.Equal(bar.Cost, await browser.ValueAsync($"#daily-table tr[data-day=\"{bar.Day}\"] td:nth-child(5) [data-value]"));
        }

        Assert.All(daily.Keys, day => Assert.Contains(bars, b => b.Day == day));
    }

    private static async Task<JsonElement> GetAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    private static long Tokens(string? text) => long.Parse(text!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    private sealed record ChartDay(string Day, long Requests, long Prompt, long Completion, long Cost);
}
