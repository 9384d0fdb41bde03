using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Serverless.Core.Dashboard;
using Serverless.Core.Keys;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>Who can see and change what: wrong keys, CSRF, customer isolation, cookies, sign-in links.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed partial class DashboardSecurityTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task A_wrong_key_shows_an_error_and_opens_no_session()
    {
        var keys = dashboard.Service.Services.GetRequiredService<ApiKeyService>();
        var revoked = await keys.CreateAsync("globex", "Revoked before use", null, null, CancellationToken.None);
        await keys.RevokeAsync(revoked.Info.KeyId, CancellationToken.None);
        var cases = new (string Key, string Message)[]
        {
            ("not-a-key", "Incorrect API key provided."),
            (ApiKeyFormat.Generate("sk-svl").Key, "Incorrect API key provided."), // well formed, never issued
            (revoked.Key, "The API key provided has been revoked."),
        };

        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        foreach (var (key, message) in cases)
        {
            await browser.SignInAsync(key);
            var error = page.Locator("#signin-error");
            await error.WaitForAsync();
            Assert.Equal(message, await error.TextContentAsync());
            Assert.Equal("true", await page.Locator("#api-key").GetAttributeAsync("aria-invalid"));
            Assert.Equal("signed-out", await page.EvaluateAsync<string>("() => document.body.dataset.state"));
            Assert.False(await page.Locator("#app-view").IsVisibleAsync());
            Assert.Empty(await browser.Context.CookiesAsync());
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ArtifactsDirectory, "dashboard-signin-error.png") });
    }

    [Fact]
    public async Task Mutating_requests_without_the_sessions_csrf_token_or_from_another_site_are_refused()
    {
        await using var browser = await dashboard.OpenAsync();
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        int keysBefore = await KeyCountAsync("globex");
        string body = """{"name":"csrf probe"}""";

        var (status, text) = await browser.FetchAsync("POST", "/dashboard/api/keys", body);
        Assert.Equal(403, status);
        Assert.Contains("csrf_token_invalid", text, StringComparison.Ordinal);
        (status, _) = await browser.FetchAsync("POST", "/dashboard/api/keys", body, "not-the-token");
        Assert.Equal(403, status);
        (status, _) = await browser.FetchAsync("DELETE", $"/dashboard/api/keys/{dashboard.Globex.OtherKeys[0].KeyId}");
        Assert.Equal(403, status);
        (status, _) = await browser.FetchAsync("DELETE", "/dashboard/api/session");
        Assert.Equal(403, status);

        // Replayed outside the page with the session cookie and even the right token: a request a browser marks as
        // coming from another site, or from another origin, is refused as well.
        string token = await browser.CsrfTokenAsync();
        string cookie = (await browser.Context.CookiesAsync()).Single().Value;
        foreach (var (header, value) in new[] { ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site"), ("Origin", "http://evil.example") })
        {
            using var client = dashboard.Anonymous();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/api/keys") { Content = ApiResponses.Json(body) };
            request.Headers.Add("Cookie", $"{DashboardSessions.CookieName}={cookie}");
            request.Headers.Add(DashboardSessions.CsrfHeader, token);
            request.Headers.Add(header, value);
            using var response = await client.SendAsync(request);
            Assert.Equal("cross_site_request", (await response.ReadErrorAsync(403)).GetProperty("code").GetString());
        }

        Assert.Equal(keysBefore, await KeyCountAsync("globex"));
        Assert.Equal("ready", await browser.Page.EvaluateAsync<string>("() => document.body.dataset.state"));

        // The control: with its token the page's own request goes through.
        (status, text) = await browser.FetchAsync("POST", "/dashboard/api/keys", body, token);
        Assert.Equal(201, status);
        await dashboard.Service.Services.GetRequiredService<ApiKeyService>().RevokeAsync(JsonDocument.Parse(text).RootElement.GetProperty("info").GetProperty("id").GetString()!, CancellationToken.None);
    }

    [Fact]
    public async Task A_session_reads_only_its_own_customers_data()
    {
        await using var globex = await dashboard.OpenAsync();
        await using var initech = await dashboard.OpenAsync();
        await globex.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        await initech.SignInAndWaitAsync(dashboard.Initech.SignInKey.Key);
        Assert.Equal("Globex Corporation", await globex.Page.Locator("#customer-name").TextContentAsync());
        Assert.Equal("Initech", await initech.Page.Locator("#customer-name").TextContentAsync());

        HashSet<string> globexKeys = [.. (await dashboard.Service.Services.GetRequiredService<ApiKeyService>().ListAsync("globex", CancellationToken.None)).Select(k => k.KeyId)];
        HashSet<string> initechKeys = [.. (await dashboard.Service.Services.GetRequiredService<ApiKeyService>().ListAsync("initech", CancellationToken.None)).Select(k => k.KeyId)];
        foreach (var (page, own, other) in new[] { (globex, globexKeys, initechKeys), (initech, initechKeys, globexKeys) })
        {
            var listed = await page.Page.Locator("#keys-table tr[data-key-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.keyId)");
            Assert.Equal(own.Order(), listed.Order());
            var byKey = await page.Page.Locator("#by-key tr[data-group]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.group)");
            Assert.NotEmpty(byKey);
            Assert.All(byKey, k => Assert.Contains(k, own));

            // Every request id on the first page belongs to this customer in the ledger.
            var requests = await page.Page.Locator("#requests-table tr[data-request-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.requestId)");
            Assert.NotEmpty(requests);
            await using var db = dashboard.Service.Database();
            var owners = db.Set<Serverless.Core.Metering.UsageRecord>().Where(r => requests.Contains(r.RequestId)).Select(r => r.KeyId).ToList();
            Assert.Equal(requests.Length, owners.Count);
            Assert.All(owners, k => Assert.Contains(k, own));

            // No parameter names another customer, and another customer's key id is "not found", not revoked.
            var (status, body) = await page.FetchAsync("GET", "/dashboard/api/overview?customer=globex&customer_id=globex");
            Assert.Equal(200, status);
            Assert.Equal(own == globexKeys ? "globex" : "initech", JsonDocument.Parse(body).RootElement.GetProperty("customer").GetString());
            string victim = other.First();
            (status, _) = await page.FetchAsync("DELETE", $"/dashboard/api/keys/{victim}", csrfToken: await page.CsrfTokenAsync());
            Assert.Equal(404, status);
            var info = await dashboard.Service.Services.GetRequiredService<ApiKeyService>().GetAsync(victim, CancellationToken.None);
            Assert.Null(info!.RevokedAt);
        }

        // The page totals are each customer's own usage API totals.
        foreach (var (page, key) in new[] { (globex, dashboard.Globex.SignInKey.Key), (initech, dashboard.Initech.SignInKey.Key) })
        {
            using var api = dashboard.Api(key);
            using var response = await api.GetAsync("/v1/usage");
            var total = (await response.ReadJsonAsync()).GetProperty("total");
            Assert.Equal(total.GetProperty("cost_micro_usd").GetInt64(), await page.ValueAsync("#period-cost-value"));
            Assert.Equal(total.GetProperty("requests").GetInt64(), await page.ValueAsync("#period-requests-value"));
        }
    }

    [Fact]
    public async Task The_session_cookie_is_httponly_strict_and_secure_when_the_request_came_over_https()
    {
        foreach (bool https in new[] { false, true })
        {
            using var client = dashboard.Anonymous();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/api/session")
            {
                Content = ApiResponses.Json(JsonSerializer.Serialize(new { api_key = dashboard.Globex.SignInKey.Key })),
            };
            if (https)
            {
                request.Headers.Add("X-Forwarded-Proto", "https");
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            string setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
            Assert.StartsWith($"{DashboardSessions.CookieName}=v1.", setCookie, StringComparison.Ordinal);
            Assert.Contains("path=/dashboard", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(https, setCookie.Contains("secure", StringComparison.OrdinalIgnoreCase));
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            Assert.DoesNotContain(dashboard.Globex.SignInKey.Key, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_signed_link_from_the_admin_cli_signs_in_until_it_expires_and_a_tampered_link_does_not()
    {
        await using var cli = new LocalHostProcess(dashboard.Service.Settings);
        var made = await cli.RunCommandAsync("dashboard", "link", "--customer", "globex", "--expires-in", "10m", "--base-url", dashboard.BaseAddress.ToString());
        Assert.True(made.ExitCode == 0, made.Output);
        string link = LinkPattern().Match(made.Output).Value;
        Assert.StartsWith(new Uri(dashboard.BaseAddress, "/dashboard#link=v1.").ToString(), link, StringComparison.Ordinal);

        await using (var browser = await dashboard.OpenAsync())
        {
            await browser.Page.GotoAsync(link);
            await browser.WaitForStateAsync("ready");
            Assert.Equal("Globex Corporation", await browser.Page.Locator("#customer-name").TextContentAsync());
            Assert.DoesNotContain("link=", browser.Page.Url, StringComparison.Ordinal); // the token left the address bar
            Assert.Equal(0, await browser.Page.Locator("#keys-table .you").CountAsync()); // no key behind this session
            Assert.Empty(browser.Problems);
        }

        var unknown = await cli.RunCommandAsync("dashboard", "link", "--customer", "nobody-here");
        Assert.NotEqual(0, unknown.ExitCode);

        string token = link[(link.IndexOf("#link=", StringComparison.Ordinal) + "#link=".Length)..];
        string[] parts = token.Split('.');
        var tokens = dashboard.Service.Services.GetRequiredService<DashboardTokens>();
        string payload = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1])));
        string otherCustomer = Base64Url(Encoding.UTF8.GetBytes(payload.Replace("\"globex\"", "\"initech\"", StringComparison.Ordinal)));
        var refused = new Dictionary<string, string>
        {
            ["expired"] = tokens.CreateLink("globex", DateTimeOffset.UtcNow.AddHours(-2), TimeSpan.FromHours(1)),
            ["another customer, same signature"] = $"{parts[0]}.{otherCustomer}.{parts[2]}",
            ["signature changed"] = $"{parts[0]}.{parts[1]}.{(parts[2][0] == 'A' ? 'B' : 'A')}{parts[2][1..]}",
            ["a session token"] = tokens.CreateSession("globex", null, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)),
        };
        foreach (var (what, bad) in refused)
        {
            await using var browser = await dashboard.OpenAsync();
            await browser.Page.GotoAsync($"/dashboard#link={bad}");
            await browser.WaitForStateAsync("signed-out");
            Assert.True((await browser.Page.Locator("#signin-error").TextContentAsync())!.Contains("invalid or has expired", StringComparison.Ordinal), what);
            Assert.Empty(await browser.Context.CookiesAsync());
        }
    }

    [Fact]
    public async Task A_session_ends_when_its_key_is_revoked_or_its_cookie_expires_or_is_forged()
    {
        var keys = dashboard.Service.Services.GetRequiredService<ApiKeyService>();
        var key = await keys.CreateAsync("globex", "Short-lived session", null, null, CancellationToken.None);
        await using (var browser = await dashboard.OpenAsync())
        {
            await browser.SignInAndWaitAsync(key.Key);
            await keys.RevokeAsync(key.Info.KeyId, CancellationToken.None);
            await browser.Page.Locator("#refresh").ClickAsync();
            await browser.WaitForStateAsync("signed-out");
            Assert.Contains("session has ended", await browser.Page.Locator("#signin-error").TextContentAsync(), StringComparison.Ordinal);
        }

        var tokens = dashboard.Service.Services.GetRequiredService<DashboardTokens>();
        var cookies = new Dictionary<string, string>
        {
            ["expired"] = tokens.CreateSession("globex", null, DateTimeOffset.UtcNow.AddHours(-3), TimeSpan.FromHours(1)),
            ["a link token"] = tokens.CreateLink("globex", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)),
            ["made up"] = "v1.eyJ0eXAiOiJzZXNzaW9uIiwiY3VzIjoiZ2xvYmV4In0.AAAA",
        };
        foreach (var (what, value) in cookies)
        {
            await using var browser = await dashboard.OpenAsync();
            await browser.Context.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = DashboardSessions.CookieName, Value = value, Domain = dashboard.BaseAddress.Host, Path = "/dashboard", HttpOnly = true, SameSite = SameSiteAttribute.Strict }]);
            await browser.GotoAsync();
            Assert.True(await browser.Page.Locator("#signin-view").IsVisibleAsync(), what);
            var (status, _) = await browser.FetchAsync("GET", "/dashboard/api/overview");
            Assert.Equal(401, status);
        }
    }

    private async Task<int> KeyCountAsync(string customer) =>
        (await dashboard.Service.Services.GetRequiredService<ApiKeyService>().ListAsync(customer, CancellationToken.None)).Count;

    private static string Pad(string base64Url)
    {
        string text = base64Url.Replace('-', '+').Replace('_', '/');
        return text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex(@"http\S+#link=\S+")]
    private static partial Regex LinkPattern();
}
