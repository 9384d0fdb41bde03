using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Serverless.Core.Billing;
using Serverless.Core.Metering;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>The billing section's reconciliation: dead-lettered usage is on hold and a difference; late usage is explained, not a gap.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardBillingTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task Dead_lettered_usage_shows_on_hold_as_a_difference_and_late_usage_says_on_which_day_it_was_reported()
    {
        var now = DateTimeOffset.UtcNow;
        string today = now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string yesterday = now.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        List<ReconciliationLine> lines =
        [
            new("globex", MeterKind.InputTokens, yesterday, 100, 60, 0, 60, ReconciliationStatus.DeadLettered, "40 tokens dead-lettered", DeadLettered: 40),
            new("globex", MeterKind.OutputTokens, today, 0, 0, 0, 25, ReconciliationStatus.Ok, null, LateIn: 25),
            new("initech", MeterKind.InputTokens, today, 7, 0, 0, 0, ReconciliationStatus.DeadLettered, null, DeadLettered: 7),
        ];
        await using (var db = dashboard.Service.Database())
        {
            db.Add(new ReconciliationRun
            {
                RanAt = now.AddMinutes(-1),
                RangeStart = now.AddDays(-1),
                RangeEnd = now.AddDays(1),
                Differences = 2,
                Report = JsonSerializer.Serialize(lines, ReconciliationReportJsonContext.Default.ListReconciliationLine),
            });
            await db.SaveChangesAsync();
        }

        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Billing" }).ClickAsync();

        var held = page.Locator($"#recon-table tbody tr[data-day=\"{yesterday}\"][data-meter=\"{MeterKind.InputTokens}\"]");
        await held.WaitForAsync();
        Assert.Equal(ReconciliationStatus.DeadLettered, await held.GetAttributeAsync("data-status"));
        Assert.Equal(40, await browser.ValueAsync($"#recon-table tbody tr[data-day=\"{yesterday}\"][data-meter=\"{MeterKind.InputTokens}\"] [data-field=dead_lettered]"));
        Assert.Equal("On hold", (await held.Locator(".badge").TextContentAsync())?.Trim());

        // Only this customer's lines count: one difference, not Initech's as well.
        Assert.Contains("1 difference", await page.Locator("#recon-summary").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(2, await page.Locator("#recon-table tbody tr").CountAsync());

        var late = page.Locator($"#recon-table tbody tr[data-day=\"{today}\"][data-meter=\"{MeterKind.OutputTokens}\"]");
        Assert.Equal("Matches", (await late.Locator(".badge").TextContentAsync())?.Trim());
        Assert.Contains("from earlier days", await late.Locator("[data-field=late]").TextContentAsync(), StringComparison.Ordinal);
        Assert.Empty(browser.Problems);
    }
}
