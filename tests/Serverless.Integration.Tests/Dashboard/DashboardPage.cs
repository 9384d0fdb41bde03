using System.Globalization;
using Microsoft.Playwright;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>One browser context and page on the dashboard, with what the page logged and the page's own helpers.</summary>
public sealed class DashboardPage : IAsyncDisposable
{
    private readonly List<string> _problems = [];

    public DashboardPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                Record($"console.{message.Type}: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => Record($"uncaught: {error}");
        page.RequestFailed += (_, request) => Record($"request failed: {request.Method} {request.Url} {request.Failure}");
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>Console errors and warnings, uncaught exceptions and failed requests, in order.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    public async Task GotoAsync(string path = "/dashboard")
    {
        await Page.GotoAsync(path);
        await WaitForStateAsync("signed-out", "ready");
    }

    /// <summary>Signs in the way a person does: label, typing, Enter.</summary>
    public async Task SignInAsync(string key)
    {
        await GotoAsync();
        var input = Page.GetByLabel("API key", new() { Exact = true });
        await input.FillAsync(key);
        await input.PressAsync("Enter");
    }

    public async Task SignInAndWaitAsync(string key)
    {
        await SignInAsync(key);
        await WaitForStateAsync("ready");
    }

    /// <summary>Waits until body[data-state] is one of <paramref name="states"/> (the page sets it after every load).</summary>
    public Task WaitForStateAsync(params string[] states) =>
        Page.WaitForFunctionAsync("states => states.includes(document.body.dataset.state)", states);

    /// <summary>The integer a page element carries in data-value (exactly what the page received).</summary>
    public async Task<long> ValueAsync(string selector) =>
        long.Parse((await Page.Locator(selector).First.GetAttributeAsync("data-value"))!, CultureInfo.InvariantCulture);

    /// <summary>The CSRF token the page holds for its session (as a script on the page could read it).</summary>
    public async Task<string> CsrfTokenAsync() =>
        await Page.EvaluateAsync<string>("() => fetch('/dashboard/api/session').then(r => r.json()).then(s => s.csrf_token)");

    /// <summary>Runs fetch() in the page (same origin, with its cookie) and returns the status and body.</summary>
    public async Task<(int Status, string Body)> FetchAsync(string method, string path, string? body = null, string? csrfToken = null)
    {
        var result = await Page.EvaluateAsync<System.Text.Json.JsonElement>(
            """
            async ([method, path, body, token]) => {
              const headers = { 'Content-Type': 'application/json' };
              if (token) headers['X-CSRF-Token'] = token;
              const response = await fetch(path, { method, headers, body: body ?? undefined });
              return { status: response.status, body: await response.text() };
            }
            """,
            new object?[] { method, path, body, csrfToken });
        return (result.GetProperty("status").GetInt32(), result.GetProperty("body").GetString()!);
    }

    /// <summary>The session cookie's value, for replaying the session outside the browser.</summary>
    public async Task<string> SessionCookieAsync() => (await Context.CookiesAsync()).Single(c => c.Name == Serverless.Core.Dashboard.DashboardSessions.CookieName).Value;

    /// <summary>"$1,234.56" + "7890" as the page shows money → micro-USD.</summary>
    public static long MicroUsd(string? text)
    {
        string plain = text!.Replace("$", string.Empty, StringComparison.Ordinal).Replace(",", string.Empty, StringComparison.Ordinal);
        return (long)(decimal.Parse(plain, CultureInfo.InvariantCulture) * 1_000_000m);
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();

    private void Record(string problem)
    {
        lock (_problems)
        {
            _problems.Add(problem);
        }
    }
}
