using Microsoft.Playwright;
using Serverless.Core.Dashboard;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>Signing in with an API key, the session cookie it buys, and what the browser keeps (nothing secret).</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardSignInTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task Signing_in_with_an_api_key_opens_the_customers_dashboard_on_an_httponly_strict_cookie_and_keeps_no_key_in_the_browser()
    {
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.GotoAsync();
        Assert.True(await page.Locator("#signin-view").IsVisibleAsync());

        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);

        Assert.Equal("Globex Corporation", await page.Locator("#customer-name").TextContentAsync());
        Assert.Equal(string.Empty, await page.Locator("#api-key").InputValueAsync());

        var cookie = Assert.Single(await browser.Context.CookiesAsync());
        Assert.Equal(DashboardSessions.CookieName, cookie.Name);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.False(cookie.Secure); // plain http on 127.0.0.1; see the HTTPS test below
        Assert.Equal("/dashboard", cookie.Path);
        // About the session's hour, not a day: Chromium turns Max-Age into an expiry with its own idea of the wall clock,
        // which lags a VM's clock steps (measured 61m03s twice under load), so the bound leaves a few minutes either way.
        Assert.InRange(DateTimeOffset.FromUnixTimeSeconds((long)cookie.Expires) - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(65));
        Assert.DoesNotContain(dashboard.Globex.SignInKey.Key, cookie.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(dashboard.Globex.SignInKey.Key[^20..], cookie.Value, StringComparison.Ordinal);

        // Scripts see no cookie and nothing is stored.
        Assert.Equal(string.Empty, await page.EvaluateAsync<string>("() => document.cookie"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length + sessionStorage.length"));
        string html = await page.ContentAsync();
        Assert.DoesNotContain(dashboard.Globex.SignInKey.Key, html, StringComparison.Ordinal);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ArtifactsDirectory, "dashboard.png"), FullPage = true });

        // The same page on a phone: one column, nothing wider than the screen.
        await using var phone = await dashboard.OpenAsync(390, 844);
        await phone.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        string overflow = await phone.Page.EvaluateAsync<string>(
            """
            () => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
              .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className).slice(0, 8)
              .concat(document.documentElement.scrollWidth > window.innerWidth ? ['document ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth] : [])
              .join(', ')
            """);
        Assert.True(overflow.Length == 0, $"wider than a phone's screen: {overflow}");
        await phone.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ArtifactsDirectory, "dashboard-mobile.png"), FullPage = true });
    }
}
