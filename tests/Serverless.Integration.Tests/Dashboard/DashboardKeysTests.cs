using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Keys;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>Creating and revoking keys in the page, and what the API then does with those keys.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardKeysTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task Revoking_a_key_in_the_page_makes_the_next_api_call_with_it_fail_with_401()
    {
        var victim = await dashboard.Service.Services.GetRequiredService<ApiKeyService>().CreateAsync("globex", "Revoke me", null, null, CancellationToken.None);
        using var api = dashboard.Api(victim.Key);
        using (var before = await api.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        var row = page.Locator($"#keys-table tr[data-key-id=\"{victim.Info.KeyId}\"]");
        await row.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Revoke key Revoke me" }).ClickAsync();
        await page.Locator("#confirm-dialog").WaitForAsync();
        Assert.Contains("Revoke me", await page.Locator("#confirm-text").TextContentAsync(), StringComparison.Ordinal);
        await page.Locator("#confirm-ok").ClickAsync();
        await row.GetByText("Revoked").WaitForAsync();

        using var after = await api.GetAsync("/v1/models");
        var error = await after.ReadErrorAsync(401);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Contains("revoked", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The session's own key was not touched.
        Assert.Equal("ready", await page.EvaluateAsync<string>("() => document.body.dataset.state"));
        using var own = dashboard.Api(dashboard.Globex.SignInKey.Key);
        using var ownResponse = await own.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, ownResponse.StatusCode);
    }

    [Fact]
    public async Task A_session_whose_key_cannot_manage_keys_sees_permissions_but_no_create_or_revoke()
    {
        var viewer = await dashboard.Service.Services.GetRequiredService<ApiKeyService>().CreateAsync("globex", "Viewer", null, null, ["inference", "usage.read"], CancellationToken.None);
        try
        {
            await using var browser = await dashboard.OpenAsync();
            var page = browser.Page;
            await browser.SignInAndWaitAsync(viewer.Key);

            Assert.False(await page.Locator("#create-key-form").IsVisibleAsync());
            Assert.True(await page.Locator("#keys-read-only").IsVisibleAsync());
            Assert.Equal(0, await page.Locator("#keys-table button[data-revoke]").CountAsync());
            var row = page.Locator($"#keys-table tr[data-key-id=\"{viewer.Info.KeyId}\"] .key-permissions");
            Assert.Equal("inferenceusage.read", await row.TextContentAsync());

            // Only its own key: the customer's other keys are for a key that may manage them.
            Assert.Equal(1, await page.Locator("#keys-table tbody tr").CountAsync());
            Assert.Equal(0, await page.Locator($"#keys-table tr[data-key-id=\"{dashboard.Globex.SignInKey.Info.KeyId}\"]").CountAsync());
        }
        finally
        {
            await dashboard.Service.Services.GetRequiredService<ApiKeyService>().RevokeAsync(viewer.Info.KeyId, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_session_whose_key_may_only_infer_sees_its_key_and_a_note_instead_of_usage_batches_and_billing()
    {
        var keys = dashboard.Service.Services.GetRequiredService<ApiKeyService>();
        var inferenceOnly = await keys.CreateAsync("globex", "Inference only", null, null, ["inference"], CancellationToken.None);
        try
        {
            await using var browser = await dashboard.OpenAsync();
            var page = browser.Page;
            await browser.SignInAndWaitAsync(inferenceOnly.Key);

            foreach (string section in new[] { "overview", "requests", "batches", "billing" })
            {
                Assert.False(await page.Locator($"#{section}").IsVisibleAsync(), section + " is shown");
                Assert.False(await page.Locator($".nav a[href=\"#{section}\"]").IsVisibleAsync(), section + " is in the navigation");
            }

            Assert.True(await page.Locator("#keys").IsVisibleAsync());
            string note = (await page.Locator("#permissions-note").TextContentAsync())!;
            Assert.Contains("usage.read", note, StringComparison.Ordinal);
            Assert.Contains("batches", note, StringComparison.Ordinal);
            Assert.False(await page.Locator("#banner").IsVisibleAsync(), "an error banner is shown");
            Assert.Equal(1, await page.Locator("#keys-table tbody tr").CountAsync());
            Assert.Equal(1, await page.Locator($"#keys-table tr[data-key-id=\"{inferenceOnly.Info.KeyId}\"]").CountAsync());

            // The sign-in key of the same customer (every default permission) sees them all again, without the note.
            await page.Locator("#signout").ClickAsync();
            await browser.WaitForStateAsync("signed-out");
            await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
            foreach (string section in new[] { "overview", "requests", "batches", "keys", "billing" })
            {
                Assert.True(await page.Locator($"#{section}").IsVisibleAsync(), section + " is hidden");
            }

            Assert.False(await page.Locator("#permissions-note").IsVisibleAsync());
        }
        finally
        {
            await keys.RevokeAsync(inferenceOnly.Info.KeyId, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_key_created_in_the_page_is_shown_once_and_works_for_the_api()
    {
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);

        await page.GetByLabel("Name").FillAsync("Created in the browser");
        await page.GetByLabel("Expires").SelectOptionAsync("30");
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var dialog = page.Locator("#key-dialog");
        await dialog.WaitForAsync();
        string key = await page.Locator("#new-key-value").InputValueAsync();
        Assert.StartsWith("sk-svl-", key, StringComparison.Ordinal);

        using (var api = dashboard.Api(key))
        using (var response = await api.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "I've saved it" }).ClickAsync();
        await dialog.WaitForAsync(new() { State = Microsoft.Playwright.WaitForSelectorState.Hidden });
        Assert.Equal(string.Empty, await page.Locator("#new-key-value").InputValueAsync());

        // Listed masked, belonging to the session's customer, expiring in 30 days; the key text is nowhere in the page any more.
        string keyId = key.Split('-')[2];
        var row = page.Locator($"#keys-table tr[data-key-id=\"{keyId}\"]");
        await row.WaitForAsync();
        Assert.Equal("Created in the browser", await row.Locator(".key-name").TextContentAsync());
        Assert.Contains("Active", await row.TextContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        var created = await dashboard.Service.Services.GetRequiredService<ApiKeyService>().GetAsync(keyId, CancellationToken.None);
        Assert.Equal("globex", created!.CustomerId);
        Assert.Equal(ApiKeyPermissions.Default, created.Permissions);
        Assert.InRange(created.ExpiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
    }

    [Fact]
    public async Task A_key_named_with_an_xss_payload_is_rendered_as_inert_text()
    {
        const string payload = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>";
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        await page.GetByLabel("Name").FillAsync(payload);
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        await page.Locator("#key-dialog").WaitForAsync();
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "I've saved it" }).ClickAsync();
        await page.Locator("#keys-table .key-name", new() { HasTextString = "window.__xss=2" }).WaitForAsync();
        await AssertInertAsync(browser, payload, "#keys-table");

        // A seeded key of the other customer has the payload as its name and usage, so it is in the key breakdown and
        // the request list too; that customer's invoice carries a javascript: URL, which must not become a link.
        await using var other = await dashboard.OpenAsync();
        await other.SignInAndWaitAsync(dashboard.Initech.SignInKey.Key);
        await AssertInertAsync(other, DashboardSeed.XssKeyName, "#by-key");
        await AssertInertAsync(other, DashboardSeed.XssKeyName, "#requests-table");
        Assert.Equal(0, await other.Page.Locator("a[href^='javascript']").CountAsync());
        await other.Page.Locator("#invoices-table tr[data-invoice=\"in_1InitechScript01\"]").WaitForAsync();
    }

    private static async Task AssertInertAsync(DashboardPage browser, string payload, string container)
    {
        var page = browser.Page;
        bool shown = await page.EvaluateAsync<bool>(
            "([container, payload]) => [...document.querySelectorAll(container + ' td, ' + container + ' .key-name')].some(e => e.textContent === payload)",
            new[] { container, payload });
        Assert.True(shown, $"the name is shown as text in {container}");
        Assert.Equal(0, await page.Locator($"{container} img, {container} script").CountAsync());
        Assert.Equal(0, await page.Locator("img[src='x']").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => window.__xss === undefined"), "the payload ran");
    }
}
