using System.Net;
using Microsoft.Playwright;
using Serverless.Core.Dashboard;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>The page as a whole: served from the app with a strict policy, and clean in the browser's console.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardPageTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task The_page_and_its_assets_are_served_by_the_app_under_a_strict_content_security_policy()
    {
        using var client = dashboard.Anonymous();
        using var page = await client.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(DashboardResponses.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        string html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal); // nothing from a CDN
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);

        foreach (var (name, type) in new[] { ("app.js", "text/javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg+xml") })
        {
            using var asset = await client.GetAsync($"/dashboard/assets/{name}");
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal(type, asset.Content.Headers.ContentType?.MediaType);
            using var again = new HttpRequestMessage(HttpMethod.Get, $"/dashboard/assets/{name}");
            again.Headers.IfNoneMatch.Add(asset.Headers.ETag!);
            using var cached = await client.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
        }

        using var missing = await client.GetAsync("/dashboard/assets/index.html");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var data = await client.GetAsync("/dashboard/api/overview");
        Assert.Equal(HttpStatusCode.Unauthorized, data.StatusCode);
    }

    [Fact]
    public async Task The_dashboard_runs_through_every_section_without_console_errors()
    {
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);

        foreach (string section in new[] { "Requests", "Batches", "API keys", "Billing", "Overview" })
        {
            await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = section }).ClickAsync();
        }

        await page.GetByText("Show the numbers").ClickAsync();
        await page.Locator("#daily-table tbody tr").First.WaitForAsync();

        // Paging through requests and back.
        string firstPage = (await page.Locator("#requests-table tbody tr").First.GetAttributeAsync("data-request-id"))!;
        await page.Locator("#requests-older").ClickAsync();
        await page.Locator("#requests-page", new() { HasTextString = "Page 2" }).WaitForAsync();
        Assert.NotEqual(firstPage, await page.Locator("#requests-table tbody tr").First.GetAttributeAsync("data-request-id"));
        await page.Locator("#requests-newer").ClickAsync();
        await page.Locator("#requests-page", new() { HasTextString = "Page 1" }).WaitForAsync();
        Assert.Equal(firstPage, await page.Locator("#requests-table tbody tr").First.GetAttributeAsync("data-request-id"));

        // A key made and revoked entirely with the keyboard dialogs, then the cancelled revoke of another.
        await page.GetByLabel("Name").FillAsync("Console check");
        await page.GetByLabel("Name").PressAsync("Enter");
        await page.Locator("#key-dialog").WaitForAsync();
        await page.Keyboard.PressAsync("Escape");
        await page.Locator("#key-dialog").WaitForAsync(new() { State = WaitForSelectorState.Hidden });
        var row = page.Locator("#keys-table tr", new() { HasTextString = "Console check" });
        await row.GetByRole(AriaRole.Button).ClickAsync();
        await page.Locator("#confirm-cancel").ClickAsync();
        await row.GetByRole(AriaRole.Button).ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await row.GetByText("Revoked").WaitForAsync();

        // The chart redraws for a narrow window; the page reloads its data.
        await page.SetViewportSizeAsync(700, 900);
        await page.WaitForFunctionAsync("() => +document.querySelector('#chart svg').getAttribute('width') < 800");
        await page.Locator("#refresh").ClickAsync();
        await browser.WaitForStateAsync("ready");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await browser.WaitForStateAsync("signed-out");
        Assert.Empty(await browser.Context.CookiesAsync());
        await page.ReloadAsync();
        await browser.WaitForStateAsync("signed-out");

        Assert.Empty(browser.Problems);
    }
}
