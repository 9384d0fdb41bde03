using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Faults;
using Serverless.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>
/// A real Prometheus server scrapes a local host's <c>/metrics</c> (admin key as bearer token) while it serves chat,
/// streamed, disconnected, completion and batch requests; what Prometheus stored must be the ledger's truth.
/// The host is its own process, so every observation in its metrics comes from this test.
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output)
{
    private const string Chat = """{"model":"demo","temperature":0,"max_tokens":12,"messages":[{"role":"user","content":"Tell me about the river."}]}""";
    private const string Stream = """{"model":"demo","temperature":0,"max_tokens":12,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Tell me about the river."}]}""";
    private const string LongStream = """{"model":"demo","temperature":0,"max_tokens":2000,"stream":true,"messages":[{"role":"user","content":"Tell me about the river."}]}""";
    private const string Completion = """{"model":"demo","temperature":0,"max_tokens":9,"prompt":"The river"}""";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Prometheus_scraping_the_host_holds_the_ledgers_token_totals_and_one_ttft_and_duration_observation_per_request()
    {
        string adminKey = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        await using var host = new CrashHost("svl-prom", new Dictionary<string, string?>
        {
            ["Admin:Key"] = adminKey,
            ["Batch:ChunkSize"] = "2",
            ["LocalDurableTask:MaxQueuePollingInterval"] = "00:00:00.200",
        });
        await host.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync($"127.0.0.1:{host.Host.Port}", "/metrics", adminKey);
        await prometheus.WaitForScrapeAfterAsync(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30));
        using var client = host.CreateClient();

        // Two chat answers, two streams read to the end, a completion.
        for (int i = 0; i < 2; i++)
        {
            using var chat = await client.PostAsync("/v1/chat/completions", Json(Chat));
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            using var stream = await client.PostAsync("/v1/chat/completions", Json(Stream));
            Assert.Contains("data: [DONE]", await stream.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var completion = await client.PostAsync("/v1/completions", Json(Completion)))
        {
            Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        }

        // A client that goes away after the first chunk: billed for what was generated, observed once.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(LongStream) })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
        }

        // A batch of three lines.
        string file = await client.UploadAsync(Enumerable.Range(0, 3).Select(i => BatchCalls.ChatLine($"line-{i}", 6)));
        string batchId = (await client.CreateBatchAsync(file, "/v1/chat/completions")).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(batchId, TimeSpan.FromMinutes(2), () => host.Report);
        Assert.Equal("completed", BatchCalls.Status(batch));
        const int Requests = 2 + 2 + 1 + 1 + 3;

        // Every request is in the ledger (the disconnected one settles when its generation stops).
        JsonElement usage = default;
        await host.UntilAsync(async _ =>
        {
            usage = await client.GetFromJsonAsync<JsonElement>("/v1/usage?group_by=model");
            return usage.GetProperty("total").GetProperty("requests").GetInt64() == Requests;
        }, TimeSpan.FromSeconds(60), "every request in the ledger", TimeSpan.FromMilliseconds(200));
        long input = usage.GetProperty("total").GetProperty("prompt_tokens").GetInt64();
        long outputTokens = usage.GetProperty("total").GetProperty("completion_tokens").GetInt64();
        output.WriteLine($"ledger: {Requests} requests, {input} input tokens, {outputTokens} output tokens");

        // Then Prometheus's next scrape holds the same.
        await prometheus.WaitForScrapeAfterAsync(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30));
        Assert.Equal(input, await SumAsync(prometheus, """serverless_tokens_total{gen_ai_token_type="input",serverless_customer_id="dev"}"""));
        Assert.Equal(outputTokens, await SumAsync(prometheus, """serverless_tokens_total{gen_ai_token_type="output",serverless_customer_id="dev"}"""));
        Assert.Equal(Requests, await SumAsync(prometheus, "gen_ai_server_time_to_first_token_seconds_count"));
        Assert.Equal(Requests, await SumAsync(prometheus, "gen_ai_server_request_duration_seconds_count"));
        Assert.Equal(3, await SumAsync(prometheus, """serverless_batch_lines_total{serverless_batch_line_outcome="completed"}"""));

        // The scrape endpoint answers the admin key only.
        using var anonymous = new HttpClient { BaseAddress = host.Host.BaseAddress };
        using (var refused = await anonymous.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var withApiKey = host.CreateClient();
        using (var refused = await withApiKey.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    private static async Task<long> SumAsync(PrometheusServer prometheus, string selector)
    {
        var series = await prometheus.QueryAsync($"sum({selector})");
        Assert.True(series.Count == 1, $"no series for {selector}");
        return (long)series[0].Value;
    }
}
