using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using Serverless.Core.Dashboard;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>Batch jobs on the dashboard: what the Batch API and the ledger say, results downloaded with the session, cancel.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardBatchesTests(DashboardFixture dashboard)
{
    [Fact]
    public async Task Batch_jobs_show_the_batch_apis_status_and_counts_and_the_ledgers_exact_cost_newest_first()
    {
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        await page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link, new() { Name = "Batches" }).ClickAsync();
        Assert.True(await page.Locator("#batches").IsVisibleAsync());

        using var api = dashboard.Api(dashboard.Globex.SignInKey.Key);
        var batches = (await GetJsonAsync(api, "/v1/batches?limit=100")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(dashboard.GlobexBatches.All.Order(), batches.Select(b => b.GetProperty("id").GetString()!).Order());
        var rows = await page.Locator("#batches-table tr[data-batch-id]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.batchId)");
        Assert.Equal(batches.Select(b => b.GetProperty("id").GetString()!), rows);

        foreach (var batch in batches)
        {
            string id = batch.GetProperty("id").GetString()!;
            string row = $"#batches-table tr[data-batch-id=\"{id}\"]";
            Assert.Equal(BatchCalls.Status(batch), await page.Locator(row).GetAttributeAsync("data-status"));
            var (total, completed, failed) = BatchCalls.Counts(batch);
            Assert.Equal(total, await browser.ValueAsync($"{row} [data-field=total]"));
            Assert.Equal(completed, await browser.ValueAsync($"{row} [data-field=completed]"));
            Assert.Equal(failed, await browser.ValueAsync($"{row} [data-field=failed]"));

            // The cost is the ledger's: every usage record of the batch, to the micro-dollar, also as a person reads it.
            long ledger = await LedgerCostAsync(id);
            Assert.Equal(ledger, await browser.ValueAsync($"{row} [data-field=cost_micro_usd]"));
            Assert.Equal(ledger, DashboardPage.MicroUsd(await page.Locator($"{row} [data-field=cost_micro_usd]").TextContentAsync()));

            Assert.Equal(batch.OptionalString("output_file_id") is null ? 0 : 1, await page.Locator($"{row} a[data-file=output]").CountAsync());
            Assert.Equal(batch.OptionalString("error_file_id") is null ? 0 : 1, await page.Locator($"{row} a[data-file=error]").CountAsync());
            Assert.Equal(0, await page.Locator($"{row} button[data-cancel]").CountAsync()); // all finished
        }

        Assert.True(await LedgerCostAsync(dashboard.GlobexBatches.Completed) > 0);
        Assert.Equal(0, await LedgerCostAsync(dashboard.GlobexBatches.Failed));
        string withErrors = $"#batches-table tr[data-batch-id=\"{dashboard.GlobexBatches.WithErrors}\"]";
        Assert.Equal(3, await browser.ValueAsync($"{withErrors} [data-field=completed]"));
        Assert.Equal(1, await browser.ValueAsync($"{withErrors} [data-field=failed]"));
        Assert.Contains("not JSONL", await page.Locator($"#batches-table tr[data-batch-id=\"{dashboard.GlobexBatches.Failed}\"] .batch-reason").TextContentAsync(), StringComparison.Ordinal);
        await page.Locator("#batches").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(DashboardFixture.ArtifactsDirectory, "dashboard-batches.png") });

        // The JSON pages like recent requests: ?limit=, and next_cursor passed back as ?before=.
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var (status, body) = await browser.FetchAsync("GET", $"/dashboard/api/batches?limit=1{(cursor is null ? string.Empty : $"&before={cursor}")}");
            Assert.Equal(200, status);
            var result = JsonDocument.Parse(body).RootElement;
            seen.AddRange(result.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!));
            cursor = result.GetProperty("next_cursor").GetString();
            Assert.Equal(cursor is not null, result.GetProperty("has_more").GetBoolean());
        }
        while (cursor is not null);
        Assert.Equal(rows, seen);
        Assert.Empty(browser.Problems);

        // (Refused requests below make the browser log their status; they are the point.)
        foreach (string bad in new[] { "limit=0", "limit=101", "before=batch_nope" })
        {
            var (status, body) = await browser.FetchAsync("GET", $"/dashboard/api/batches?{bad}");
            Assert.Equal(400, status);
            Assert.Equal(bad.Split('=')[0], JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task The_download_links_fetch_a_batchs_output_and_error_files_with_the_session_and_no_api_key()
    {
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        using var api = dashboard.Api(dashboard.Globex.SignInKey.Key);
        var batch = await api.GetBatchAsync(dashboard.GlobexBatches.WithErrors);
        var row = page.Locator($"#batches-table tr[data-batch-id=\"{dashboard.GlobexBatches.WithErrors}\"]");

        foreach (var (kind, field) in new[] { ("output", "output_file_id"), ("error", "error_file_id") })
        {
            string fileId = batch.OptionalString(field)!;
            var link = row.Locator($"a[data-file={kind}]");
            Assert.Equal($"/dashboard/api/files/{fileId}/content", await link.GetAttributeAsync("href"));
            var download = await page.RunAndWaitForDownloadAsync(() => link.ClickAsync());
            Assert.Null(await download.FailureAsync());
            Assert.Equal($"{dashboard.GlobexBatches.WithErrors}_{kind}.jsonl", download.SuggestedFilename);

            string downloaded = await File.ReadAllTextAsync((await download.PathAsync())!);
            using var original = await api.GetAsync($"/v1/files/{fileId}/content");
            Assert.Equal(HttpStatusCode.OK, original.StatusCode);
            Assert.Equal(await original.Content.ReadAsStringAsync(), downloaded);
            var customIds = downloaded.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("custom_id").GetString()).Order();
            Assert.Equal(kind == "output" ? ["question-1", "question-2", "question-3"] : ["no-such-model"], customIds);
        }

        // What the browser was sent: an attachment no cache keeps, under the dashboard's headers; and nothing without the cookie.
        string outputId = batch.OptionalString("output_file_id")!;
        string cookie = await browser.SessionCookieAsync();
        using (var client = dashboard.Anonymous())
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/dashboard/api/files/{outputId}/content"))
        {
            request.Headers.Add("Cookie", $"{DashboardSessions.CookieName}={cookie}");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal(DashboardResponses.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        }

        using (var client = dashboard.Anonymous())
        using (var response = await client.GetAsync($"/dashboard/api/files/{outputId}/content"))
        {
            await response.ReadErrorAsync(401);
        }

        // An API key is not a session: the dashboard's routes take the cookie only.
        using (var response = await api.GetAsync($"/dashboard/api/files/{outputId}/content"))
        {
            await response.ReadErrorAsync(401);
        }

        Assert.Empty(browser.Problems);
    }

    [Fact]
    public async Task Another_customers_session_cannot_list_download_or_cancel_a_batch()
    {
        using var api = dashboard.Api(dashboard.Globex.SignInKey.Key);
        var batch = await api.GetBatchAsync(dashboard.GlobexBatches.WithErrors);
        string[] files = [batch.OptionalString("input_file_id")!, batch.OptionalString("output_file_id")!, batch.OptionalString("error_file_id")!];

        await using var initech = await dashboard.OpenAsync();
        await initech.SignInAndWaitAsync(dashboard.Initech.SignInKey.Key);
        var page = initech.Page;
        Assert.Equal(0, await page.Locator("#batches-table tr[data-batch-id]").CountAsync());
        Assert.Contains("No batch jobs yet", await page.Locator("#batches-table tbody").TextContentAsync(), StringComparison.Ordinal);

        var (status, body) = await initech.FetchAsync("GET", "/dashboard/api/batches?limit=100");
        Assert.Equal(200, status);
        Assert.Empty(JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray());
        foreach (string batchId in dashboard.GlobexBatches.All)
        {
            Assert.DoesNotContain(batchId, body, StringComparison.Ordinal);
            (status, body) = await initech.FetchAsync("GET", $"/dashboard/api/batches?before={batchId}");
            Assert.Equal(400, status); // as for an id that does not exist: nothing says it exists elsewhere
        }

        foreach (string fileId in files)
        {
            (status, body) = await initech.FetchAsync("GET", $"/dashboard/api/files/{fileId}/content");
            Assert.Equal(404, status);
            Assert.Equal("file_not_found", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        // The link a person would follow gives nothing either.
        var response = await page.GotoAsync($"/dashboard/api/files/{files[1]}/content");
        Assert.Equal(404, response!.Status);

        (status, body) = await initech.FetchAsync("POST", $"/dashboard/api/batches/{dashboard.GlobexBatches.WithErrors}/cancel", csrfToken: await initech.CsrfTokenAsync());
        Assert.Equal(404, status);
        Assert.Equal("batch_not_found", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());

        // The owner's session, for contrast, downloads every one of them.
        await using var globex = await dashboard.OpenAsync();
        await globex.SignInAndWaitAsync(dashboard.Globex.SignInKey.Key);
        foreach (string fileId in files)
        {
            (status, _) = await globex.FetchAsync("GET", $"/dashboard/api/files/{fileId}/content");
            Assert.Equal(200, status);
        }
    }

    [Fact]
    public async Task A_running_batch_is_cancelled_from_the_page_with_the_sessions_csrf_token_and_its_row_follows_it_to_cancelled()
    {
        var key = await dashboard.Service.CreateKeyAsync("batch-canceller");
        await using var browser = await dashboard.OpenAsync();
        var page = browser.Page;
        await browser.SignInAndWaitAsync(key.Key);
        Assert.Equal(0, await page.Locator("#batches-table tr[data-batch-id]").CountAsync());

        // Far more generation than the test takes to cancel it: 400 lines of 300 tokens, 4 at a time.
        using var api = dashboard.Api(key.Key);
        var lines = Enumerable.Range(0, 400).Select(i => BatchCalls.CompletionLine($"long-{i}", 300)).ToList();
        string batchId = (await api.CreateBatchAsync(await api.UploadAsync(lines))).GetProperty("id").GetString()!;
        try
        {
            await api.WaitForBatchAsync(batchId, b => BatchCalls.Counts(b).Completed > 0, TimeSpan.FromSeconds(60), "the first completed line");
            await page.Locator("#refresh").ClickAsync();
            await browser.WaitForStateAsync("ready");
            var row = page.Locator($"#batches-table tr[data-batch-id=\"{batchId}\"]");
            Assert.Equal("in_progress", await row.GetAttributeAsync("data-status"));
            Assert.Equal(1, await row.GetByRole(AriaRole.Progressbar).CountAsync());
            Assert.Equal(0, await row.Locator("a[data-file]").CountAsync());
            await page.Locator("#batches").ScreenshotAsync(new LocatorScreenshotOptions { Path = Path.Combine(DashboardFixture.ArtifactsDirectory, "dashboard-batch-running.png") });

            // Without the session's CSRF token the cancel is refused and changes nothing (and the browser logs the 403).
            Assert.Empty(browser.Problems);
            var (status, body) = await browser.FetchAsync("POST", $"/dashboard/api/batches/{batchId}/cancel");
            Assert.Equal(403, status);
            Assert.Contains("csrf_token_invalid", body, StringComparison.Ordinal);
            Assert.Equal("in_progress", BatchCalls.Status(await api.GetBatchAsync(batchId)));
            int refusals = browser.Problems.Count;
            Assert.All(browser.Problems, p => Assert.Contains("403", p, StringComparison.Ordinal));

            // "Keep running" leaves it alone; "Cancel batch" stops it.
            var cancel = row.GetByRole(AriaRole.Button, new() { Name = $"Cancel batch {batchId}" });
            await cancel.ClickAsync();
            Assert.Equal("Cancel batch?", await page.Locator("#confirm-title").TextContentAsync());
            await page.GetByRole(AriaRole.Button, new() { Name = "Keep running" }).ClickAsync();
            await page.Locator("#confirm-dialog").WaitForAsync(new() { State = WaitForSelectorState.Hidden });
            Assert.Equal("in_progress", BatchCalls.Status(await api.GetBatchAsync(batchId)));
            await cancel.ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Cancel batch", Exact = true }).ClickAsync();
            await page.Locator($"#batches-table tr[data-batch-id=\"{batchId}\"]:is([data-status=cancelling], [data-status=cancelled])").WaitForAsync();
            Assert.Contains(BatchCalls.Status(await api.GetBatchAsync(batchId)), new[] { "cancelling", "cancelled" });

            // The page looks again by itself while the batch is not finished, until it is.
            await page.Locator($"#batches-table tr[data-batch-id=\"{batchId}\"][data-status=cancelled]").WaitForAsync(new() { Timeout = 90_000 });
            var final = await api.GetBatchAsync(batchId);
            Assert.Equal("cancelled", BatchCalls.Status(final));
            var (total, completed, failed) = BatchCalls.Counts(final);
            Assert.Equal(400, total);
            Assert.InRange(completed, 1, 399);
            Assert.Equal(total, await browser.ValueAsync($"#batches-table tr[data-batch-id=\"{batchId}\"] [data-field=total]"));
            Assert.Equal(completed, await browser.ValueAsync($"#batches-table tr[data-batch-id=\"{batchId}\"] [data-field=completed]"));
            Assert.Equal(failed, await browser.ValueAsync($"#batches-table tr[data-batch-id=\"{batchId}\"] [data-field=failed]"));
            Assert.Equal(await LedgerCostAsync(batchId), await browser.ValueAsync($"#batches-table tr[data-batch-id=\"{batchId}\"] [data-field=cost_micro_usd]"));
            Assert.Equal(0, await row.Locator("button[data-cancel]").CountAsync());
            Assert.Equal(2, await row.Locator("a[data-file]").CountAsync());

            Assert.Empty(browser.Problems.Skip(refusals));

            // Cancelling it again changes nothing, as with POST /v1/batches/{id}/cancel.
            (status, body) = await browser.FetchAsync("POST", $"/dashboard/api/batches/{batchId}/cancel", csrfToken: await browser.CsrfTokenAsync());
            Assert.Equal(200, status);
            Assert.Equal("cancelled", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
            Assert.False(JsonDocument.Parse(body).RootElement.GetProperty("cancellable").GetBoolean());
        }
        finally
        {
            // Whatever happened above, the batch does not keep the machine busy for the tests after this one.
            using var stop = await api.PostAsync($"/v1/batches/{batchId}/cancel", null);
            await api.WaitUntilDoneAsync(batchId, TimeSpan.FromMinutes(2));
        }
    }

    private async Task<long> LedgerCostAsync(string batchId)
    {
        await using var db = dashboard.Service.Database();
        return await db.Set<UsageRecord>().Where(r => r.BatchId == batchId).SumAsync(r => r.CostMicroUsd);
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }
}
