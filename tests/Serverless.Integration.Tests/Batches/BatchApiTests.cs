using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Jobs;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Batches;

/// <summary>The Batch API on the local host (DurableTask.Core on Azurite): results, per-line errors, metering, limits, cancel.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class BatchApiTests(ServiceFixture service)
{
    private async Task<List<UsageRecord>> RecordsOfAsync(string batchId)
    {
        await using var db = service.Database();
        return await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync();
    }

    private async Task<List<Reservation>> ReservationsOfAsync(string batchId)
    {
        await using var db = service.Database();
        return await db.Set<Reservation>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync();
    }

    [Fact]
    public async Task Every_line_is_metered_once_under_its_request_id_with_the_batch_id_and_the_batch_discount()
    {
        using var client = service.CreateClient();
        var lines = Enumerable.Range(0, 10).Select(i => BatchCalls.CompletionLine($"line-{i}", 5 + i)).ToList();
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(batchId);

        Assert.Equal("completed", BatchCalls.Status(batch));
        Assert.Equal((10, 10, 0), BatchCalls.Counts(batch));
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("error_file_id").ValueKind);
        foreach (var stamp in new[] { "created_at", "in_progress_at", "finalizing_at", "completed_at", "expires_at" })
        {
            Assert.True(batch.GetProperty(stamp).GetInt64() > 0, stamp);
        }

        var outputs = await client.ReadFileLinesAsync(batch.OptionalString("output_file_id"));
        var records = await RecordsOfAsync(batchId);
        Assert.Equal(10, outputs.Count);
        Assert.Equal(10, records.Count);
        for (int i = 0; i < 10; i++)
        {
            var line = Assert.Single(outputs, o => o.GetProperty("custom_id").GetString() == $"line-{i}");
            var response = line.GetProperty("response");
            string requestId = response.GetProperty("request_id").GetString()!;
            Assert.Equal($"{batchId}-{i}", requestId);
            var usage = response.GetProperty("body").GetProperty("usage");
            var record = Assert.Single(records, r => r.RequestId == requestId);
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64(), record.PromptTokens);
            Assert.Equal(usage.GetProperty("completion_tokens").GetInt64(), record.CompletionTokens);
            Assert.Equal(5 + i, record.CompletionTokens);
            Assert.Equal(UsageOutcome.Length, record.Outcome);
            Assert.Equal(
                CostCalculator.CostMicroUsd(record.PromptTokens, record.CompletionTokens, ServiceFixture.InputPrice, ServiceFixture.OutputPrice, ServiceFixture.BatchDiscount),
                record.CostMicroUsd);
            Assert.True(record.CostMicroUsd < CostCalculator.CostMicroUsd(record.PromptTokens, record.CompletionTokens, ServiceFixture.InputPrice, ServiceFixture.OutputPrice));
        }

        Assert.Empty(await ReservationsOfAsync(batchId));
    }

    [Fact]
    public async Task Malformed_lines_duplicate_custom_ids_wrong_urls_and_refused_requests_become_per_line_errors()
    {
        using var client = service.CreateClient();
        string[] lines =
        [
            BatchCalls.CompletionLine("good-1", 4),
            "{ this is not json",
            """{"method":"POST","url":"/v1/completions","body":{"model":"demo","prompt":"x"}}""",
            BatchCalls.CompletionLine("good-1", 4),
            BatchCalls.ChatLine("wrong-url", 4),
            """{"custom_id":"wrong-method","method":"GET","url":"/v1/completions","body":{"model":"demo","prompt":"x"}}""",
            """{"custom_id":"no-body","method":"POST","url":"/v1/completions"}""",
            BatchCalls.CompletionLine("unknown-model", 4, model: "no-such-model"),
            """{"custom_id":"streaming","method":"POST","url":"/v1/completions","body":{"model":"demo","prompt":"x","max_tokens":3,"stream":true}}""",
            "",
            "[1, 2, 3]",
            BatchCalls.CompletionLine("good-2", 4),
        ];
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(batchId);

        Assert.Equal("completed", BatchCalls.Status(batch));
        Assert.Equal((11, 2, 9), BatchCalls.Counts(batch));
        var outputs = await client.ReadFileLinesAsync(batch.OptionalString("output_file_id"));
        Assert.Equal(["good-1", "good-2"], outputs.Select(o => o.GetProperty("custom_id").GetString()));

        var errors = await client.ReadFileLinesAsync(batch.OptionalString("error_file_id"));
        Assert.Equal(9, errors.Count);
        string CodeOf(JsonElement e) => e.GetProperty("error").ValueKind == JsonValueKind.Object
            ? e.GetProperty("error").GetProperty("code").GetString()!
            : e.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("code").GetString()!;
        var codes = errors.Select(CodeOf).ToList();
        Assert.Equal(2, codes.Count(c => c == "invalid_json_line"));
        Assert.Contains("missing_custom_id", codes);
        Assert.Contains("duplicate_custom_id", codes);
        Assert.Contains("invalid_url", codes);
        Assert.Contains("invalid_method", codes);
        Assert.Contains("invalid_body", codes);
        Assert.Contains("model_not_found", codes);
        Assert.Contains("invalid_value", codes);
        var duplicate = Assert.Single(errors, e => CodeOf(e) == "duplicate_custom_id");
        Assert.Equal("good-1", duplicate.GetProperty("custom_id").GetString());
        Assert.Contains("Line 4", duplicate.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var unknown = Assert.Single(errors, e => e.OptionalString("custom_id") == "unknown-model");
        Assert.Equal(404, unknown.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal(2, (await RecordsOfAsync(batchId)).Count);
    }

    [Fact]
    public async Task An_input_file_that_is_not_jsonl_fails_the_batch_in_validation()
    {
        using var client = service.CreateClient();
        string csv = (await client.CreateBatchAsync(await client.UploadAsync(Encoding.UTF8.GetBytes("custom_id,prompt\na,hello\nb,world\n")))).GetProperty("id").GetString()!;
        string empty = (await client.CreateBatchAsync(await client.UploadAsync(Encoding.UTF8.GetBytes("\n\n")))).GetProperty("id").GetString()!;

        var failed = await client.WaitUntilDoneAsync(csv);
        Assert.Equal("failed", BatchCalls.Status(failed));
        Assert.True(failed.GetProperty("failed_at").GetInt64() > 0);
        var error = Assert.Single(failed.GetProperty("errors").GetProperty("data").EnumerateArray());
        Assert.Equal("invalid_json_lines", error.GetProperty("code").GetString());
        Assert.Contains("not JSONL", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("output_file_id").ValueKind);

        var nothing = await client.WaitUntilDoneAsync(empty);
        Assert.Equal("failed", BatchCalls.Status(nothing));
        Assert.Equal("empty_file", nothing.GetProperty("errors").GetProperty("data")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Another_customer_cannot_see_cancel_or_download_a_batch_or_its_files()
    {
        using var owner = service.CreateClient();
        string inputId = await owner.UploadAsync([BatchCalls.CompletionLine("mine", 3)]);
        string batchId = (await owner.CreateBatchAsync(inputId)).GetProperty("id").GetString()!;
        var batch = await owner.WaitUntilDoneAsync(batchId);
        string outputId = batch.OptionalString("output_file_id")!;

        using var other = service.CreateClient((await service.CreateKeyAsync("someone-else")).Key);
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, $"/v1/batches/{batchId}"),
            (HttpMethod.Post, $"/v1/batches/{batchId}/cancel"),
            (HttpMethod.Get, $"/v1/files/{inputId}"),
            (HttpMethod.Get, $"/v1/files/{inputId}/content"),
            (HttpMethod.Get, $"/v1/files/{outputId}"),
            (HttpMethod.Get, $"/v1/files/{outputId}/content"),
            (HttpMethod.Delete, $"/v1/files/{outputId}"),
        })
        {
            using var response = await other.SendAsync(new HttpRequestMessage(method, path));
            await response.ReadErrorAsync(404);
        }

        using (var reuse = await other.PostJsonAsync("/v1/batches", new { input_file_id = inputId, endpoint = "/v1/completions", completion_window = "24h" }))
        {
            Assert.Equal("input_file_id", (await reuse.ReadErrorAsync(404)).GetProperty("param").GetString());
        }

        using (var list = await other.GetAsync("/v1/batches"))
        {
            Assert.DoesNotContain((await list.ReadJsonAsync()).GetProperty("data").EnumerateArray(), b => b.GetProperty("id").GetString() == batchId);
        }

        using (var files = await other.GetAsync("/v1/files"))
        {
            Assert.Empty((await files.ReadJsonAsync()).GetProperty("data").EnumerateArray());
        }

        // Still there for the owner.
        Assert.Single(await owner.ReadFileLinesAsync(outputId));
    }

    [Fact]
    public async Task Cancel_stops_scheduling_and_finalizes_with_what_is_done()
    {
        using var client = service.CreateClient();
        const int Lines = 48;
        var lines = Enumerable.Range(0, Lines).Select(i => BatchCalls.CompletionLine($"c{i}", 300)).ToList();
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        var running = await client.WaitForBatchAsync(batchId, b => BatchCalls.Counts(b).Completed > 0, TimeSpan.FromSeconds(60), "the first completed line");
        Assert.Equal("in_progress", BatchCalls.Status(running));

        using (var cancel = await client.PostAsync($"/v1/batches/{batchId}/cancel", null))
        {
            var body = await cancel.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            Assert.Contains(BatchCalls.Status(body), new[] { "cancelling", "cancelled" });
            Assert.True(body.GetProperty("cancelling_at").GetInt64() > 0);
        }

        var batch = await client.WaitUntilDoneAsync(batchId);
        Assert.Equal("cancelled", BatchCalls.Status(batch));
        Assert.True(batch.GetProperty("cancelled_at").GetInt64() > 0);
        var (total, completed, failed) = BatchCalls.Counts(batch);
        Assert.Equal(Lines, total);
        Assert.Equal(0, failed);
        Assert.InRange(completed, 1, Lines - 1);

        var outputs = await client.ReadFileLinesAsync(batch.OptionalString("output_file_id"));
        var errors = await client.ReadFileLinesAsync(batch.OptionalString("error_file_id"));
        Assert.Equal(completed, outputs.Count);
        Assert.Equal(Lines - completed, errors.Count);
        Assert.All(errors, e => Assert.Equal(BatchLines.CancelledCode, e.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(
            Enumerable.Range(0, Lines).Select(i => $"c{i}").Order(),
            outputs.Concat(errors).Select(l => l.GetProperty("custom_id").GetString()!).Order());

        var records = await RecordsOfAsync(batchId);
        Assert.Equal(outputs.Select(o => o.GetProperty("response").GetProperty("request_id").GetString()).Order(), records.Select(r => r.RequestId).Order());
        Assert.Empty(await ReservationsOfAsync(batchId));

        using (var again = await client.PostAsync($"/v1/batches/{batchId}/cancel", null))
        {
            Assert.Equal("cancelled", BatchCalls.Status(await again.ReadJsonAsync()));
        }
    }

    [Fact]
    public async Task Lines_not_yet_started_when_the_creating_key_is_revoked_are_refused_as_with_an_invalid_key()
    {
        const string customer = "batch-revoke-co";
        var creator = await service.CreateKeyAsync(customer);
        var watcher = await service.CreateKeyAsync(customer);
        using var client = service.CreateClient(creator.Key);
        using var poller = service.CreateClient(watcher.Key);
        var lines = Enumerable.Range(0, 24).Select(i => BatchCalls.CompletionLine($"k{i}", 300)).ToList();
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        await poller.WaitForBatchAsync(batchId, b => BatchCalls.Counts(b).Completed > 0, TimeSpan.FromSeconds(60), "the first completed line");
        Assert.True(await service.Services.GetRequiredService<Serverless.Core.Keys.ApiKeyService>().RevokeAsync(creator.Info.KeyId, CancellationToken.None));

        var batch = await poller.WaitUntilDoneAsync(batchId);
        Assert.Equal("completed", BatchCalls.Status(batch));
        var (total, completed, failed) = BatchCalls.Counts(batch);
        Assert.Equal(24, total);
        Assert.True(completed > 0 && failed > 0, $"completed {completed}, failed {failed}");
        var errors = await poller.ReadFileLinesAsync(batch.OptionalString("error_file_id"));
        Assert.All(errors, e =>
        {
            Assert.Equal(401, e.GetProperty("response").GetProperty("status_code").GetInt32());
            Assert.Equal("invalid_api_key", e.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("code").GetString());
        });
        Assert.Equal(completed, (await RecordsOfAsync(batchId)).Count);
    }

    [Fact]
    public async Task A_finished_batch_cannot_be_cancelled()
    {
        using var client = service.CreateClient();
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync([BatchCalls.CompletionLine("done", 2)]))).GetProperty("id").GetString()!;
        await client.WaitUntilDoneAsync(batchId);
        using var cancel = await client.PostAsync($"/v1/batches/{batchId}/cancel", null);
        Assert.Equal("batch_not_cancellable", (await cancel.ReadErrorAsync(409)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Lines_whose_reservation_does_not_fit_the_budget_end_in_the_error_file_and_the_batch_never_overspends()
    {
        const string customer = "batch-budget-co";
        var key = await service.CreateKeyAsync(customer);
        using var client = service.CreateClient(key.Key);

        // A line reserves its prompt and max_tokens at the batch price; the cap fits three such reservations.
        string probe = (await client.CreateBatchAsync(await client.UploadAsync([BatchCalls.CompletionLine("probe", 1)]))).GetProperty("id").GetString()!;
        await client.WaitUntilDoneAsync(probe);
        long prompt = (await RecordsOfAsync(probe)).Single().PromptTokens;
        long perLine = CostCalculator.CostMicroUsd(prompt, 40, ServiceFixture.InputPrice, ServiceFixture.OutputPrice, ServiceFixture.BatchDiscount);
        long spent = (await RecordsOfAsync(probe)).Single().CostMicroUsd;
        long cap = spent + (perLine * 3);
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Customer, customer, null, null, cap, null, CancellationToken.None);

        var lines = Enumerable.Range(0, 12).Select(i => BatchCalls.CompletionLine($"b{i}", 40)).ToList();
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(batchId);

        Assert.Equal("completed", BatchCalls.Status(batch));
        var (total, completed, failed) = BatchCalls.Counts(batch);
        Assert.Equal(12, total);
        Assert.Equal(3, completed);
        Assert.Equal(9, failed);
        var errors = await client.ReadFileLinesAsync(batch.OptionalString("error_file_id"));
        Assert.All(errors, e =>
        {
            Assert.Equal(429, e.GetProperty("response").GetProperty("status_code").GetInt32());
            Assert.Equal("insufficient_quota", e.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("code").GetString());
        });

        await using var db = service.Database();
        var budget = await db.Set<BudgetUsage>().AsNoTracking().SingleAsync(b => b.Scope == LimitScope.Customer && b.ScopeId == customer);
        Assert.True(budget.SpentMicroUsd <= cap, $"spent {budget.SpentMicroUsd} > cap {cap}");
        Assert.Equal(0, budget.ReservedMicroUsd);
        Assert.Equal(3, (await RecordsOfAsync(batchId)).Count);
    }

    [Fact]
    public async Task Batch_lines_are_exempt_from_the_per_minute_token_limit_that_refuses_live_requests()
    {
        const string customer = "batch-rate-co";
        var key = await service.CreateKeyAsync(customer);
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Customer, customer, null, 60, null, null, CancellationToken.None);
        using var client = service.CreateClient(key.Key);

        var live = new List<HttpStatusCode>();
        for (int i = 0; i < 4; i++)
        {
            using var response = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The river","max_tokens":20,"temperature":0}""");
            live.Add(response.StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, live);

        var lines = Enumerable.Range(0, 8).Select(i => BatchCalls.CompletionLine($"r{i}", 20)).ToList();
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(batchId);
        Assert.Equal((8, 8, 0), BatchCalls.Counts(batch));
    }

    [Fact]
    public async Task Batches_are_listed_newest_first_a_page_at_a_time()
    {
        var key = await service.CreateKeyAsync("batch-list-co");
        using var client = service.CreateClient(key.Key);
        string input = await client.UploadAsync([BatchCalls.CompletionLine("x", 1)]);
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add((await client.CreateBatchAsync(input)).GetProperty("id").GetString()!);
        }

        using var first = await client.GetAsync("/v1/batches?limit=2");
        var page = await first.ReadJsonAsync();
        Assert.Equal("list", page.GetProperty("object").GetString());
        Assert.True(page.GetProperty("has_more").GetBoolean());
        var firstIds = page.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, firstIds.Count);

        using var second = await client.GetAsync($"/v1/batches?limit=2&after={page.GetProperty("last_id").GetString()}");
        var rest = await second.ReadJsonAsync();
        Assert.False(rest.GetProperty("has_more").GetBoolean());
        var all = firstIds.Concat(rest.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!)).ToList();
        Assert.Equal(ids.Order(), all.Order());
        foreach (var id in ids)
        {
            await client.WaitUntilDoneAsync(id);
        }
    }

    [Fact]
    public async Task Creating_a_batch_checks_the_input_file_endpoint_and_completion_window()
    {
        using var client = service.CreateClient();
        string input = await client.UploadAsync([BatchCalls.CompletionLine("x", 1)]);
        var cases = new (object Body, int Status, string Param)[]
        {
            (new { input_file_id = "file-nope", endpoint = "/v1/completions", completion_window = "24h" }, 404, "input_file_id"),
            (new { input_file_id = input, endpoint = "/v1/embeddings", completion_window = "24h" }, 400, "endpoint"),
            (new { input_file_id = input, endpoint = "/v1/completions", completion_window = "1h" }, 400, "completion_window"),
            (new { input_file_id = input, endpoint = "/v1/completions" }, 400, "completion_window"),
            (new { input_file_id = input, endpoint = "/v1/completions", completion_window = "24h", metadata = new { n = 1 } }, 400, "metadata.n"),
        };
        foreach (var (body, status, param) in cases)
        {
            using var response = await client.PostJsonAsync("/v1/batches", body);
            Assert.Equal(param, (await response.ReadErrorAsync(status)).GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Files_are_uploaded_listed_fetched_downloaded_and_deleted_by_their_owner()
    {
        var key = await service.CreateKeyAsync("files-co");
        using var client = service.CreateClient(key.Key);
        byte[] content = Encoding.UTF8.GetBytes(BatchCalls.CompletionLine("f", 1) + "\n");
        string id = await client.UploadAsync(content);

        using (var get = await client.GetAsync($"/v1/files/{id}"))
        {
            var file = await get.ReadJsonAsync();
            Assert.Equal("file", file.GetProperty("object").GetString());
            Assert.Equal(content.Length, file.GetProperty("bytes").GetInt64());
            Assert.Equal("input.jsonl", file.GetProperty("filename").GetString());
            Assert.Equal("batch", file.GetProperty("purpose").GetString());
            Assert.Equal("processed", file.GetProperty("status").GetString());
        }

        using (var download = await client.GetAsync($"/v1/files/{id}/content"))
        {
            Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
        }

        using (var list = await client.GetAsync("/v1/files?purpose=batch"))
        {
            Assert.Equal(id, Assert.Single((await list.ReadJsonAsync()).GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
        }

        using (var delete = await client.DeleteAsync($"/v1/files/{id}"))
        {
            var body = await delete.ReadJsonAsync();
            Assert.True(body.GetProperty("deleted").GetBoolean());
        }

        using (var gone = await client.GetAsync($"/v1/files/{id}/content"))
        {
            await gone.ReadErrorAsync(404);
        }
    }

    [Fact]
    public async Task Uploads_without_a_batch_purpose_a_file_or_a_multipart_body_are_refused()
    {
        using var client = service.CreateClient();
        using (var wrongPurpose = await client.UploadRawAsync("{}"u8.ToArray(), purpose: "fine-tune"))
        {
            Assert.Equal("purpose", (await wrongPurpose.ReadErrorAsync(400)).GetProperty("param").GetString());
        }

        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent("batch"), "purpose");
            using var noFile = await client.PostAsync("/v1/files", form);
            Assert.Equal("file", (await noFile.ReadErrorAsync(400)).GetProperty("param").GetString());
        }

        using var json = await client.PostJsonAsync("/v1/files", "{}");
        await json.ReadErrorAsync(415);
    }

    [Theory]
    [InlineData("not multipart at all")]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbat")]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n{\"custom_id\":")]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n{}\n")]
    public async Task A_multipart_body_that_ends_before_its_closing_boundary_is_a_400_invalid_multipart_and_leaves_no_file(string body)
    {
        var key = await service.CreateKeyAsync("cut-off-co");
        using var client = service.CreateClient(key.Key);
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        using (var response = await client.PostAsync("/v1/files", content))
        {
            Assert.Equal("invalid_multipart", (await response.ReadErrorAsync(400)).GetProperty("code").GetString());
        }

        using var list = await client.GetAsync("/v1/files");
        Assert.Equal(0, (await list.ReadJsonAsync()).GetProperty("data").GetArrayLength());
    }
}
