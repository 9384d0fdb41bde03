using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Inference;
using Serverless.Core.Keys;
using Serverless.Core.Telemetry;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

[Collection(ServiceTestGroup.Name)]
public sealed class CompletionBehaviourTests(ServiceFixture service)
{
    private static string Completion(int maxTokens, string extra = "", bool stream = false) =>
        $$"""{"model":"demo","prompt":"The old house by the river","max_tokens":{{maxTokens}},"temperature":0,"stream":{{(stream ? "true" : "false")}}{{extra}}}""";

    private async Task<JsonElement> CompleteAsync(string body, string path = "/v1/completions")
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync(path, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static string StreamedText(IEnumerable<string> events, string path) =>
        string.Concat(events.Where(e => e != "[DONE]").Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices"))
            .Where(c => c.GetArrayLength() > 0)
            .Select(c => path.Contains("chat", StringComparison.Ordinal)
                ? (c[0].GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() : string.Empty)
                : c[0].GetProperty("text").GetString()));

    [Theory]
    [InlineData("/v1/completions", """{"model":"demo","prompt":"Far away","max_tokens":60,"temperature":0}""")]
    [InlineData("/v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"Far away"}],"max_tokens":60,"temperature":0}""")]
    public async Task Streamed_text_equals_the_whole_response_at_temperature_zero(string path, string body)
    {
        var whole = await CompleteAsync(body, path);
        var choice = whole.GetProperty("choices")[0];
        string text = path.Contains("chat", StringComparison.Ordinal) ? choice.GetProperty("message").GetProperty("content").GetString()! : choice.GetProperty("text").GetString()!;

        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync(path, body.Replace("\"temperature\":0", "\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}", StringComparison.Ordinal));
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.ReadEventsAsync();
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(text, StreamedText(events, path));
        var usage = JsonDocument.Parse(events[^2]).RootElement.GetProperty("usage");
        Assert.Equal(whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(whole.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Completion_tokens_are_the_generated_tokens_and_max_tokens_ends_with_length()
    {
        var result = await CompleteAsync(Completion(7));
        var usage = result.GetProperty("usage");
        Assert.Equal(7, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + 7, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal("length", result.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        // A prompt of token ids is counted as exactly those tokens.
        var ids = await CompleteAsync("""{"model":"demo","prompt":[464,1468,2156],"max_tokens":3,"temperature":0}""");
        Assert.Equal(3, ids.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Stop_sequence_ends_generation_and_is_not_returned_whole_or_streamed()
    {
        string full = (await CompleteAsync(Completion(40))).GetProperty("choices")[0].GetProperty("text").GetString()!;
        var words = full.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 6, full);
        string stop = " " + words[5];
        int cut = full.IndexOf(stop, StringComparison.Ordinal);

        var stopped = await CompleteAsync(Completion(40, $$""","stop":["{{stop}}","never-happens"]"""));
        var choice = stopped.GetProperty("choices")[0];
        Assert.Equal(full[..cut], choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());

        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", Completion(40, $$""","stop":"{{stop}}" """, stream: true));
        var events = await response.ReadEventsAsync();
        Assert.Equal(full[..cut], StreamedText(events, "/v1/completions"));
    }

    [Fact]
    public async Task Same_seed_samples_the_same_text_and_sampling_varies_with_the_seed()
    {
        string Sampled(JsonElement r) => r.GetProperty("choices")[0].GetProperty("text").GetString()!;
        const string body = """{"model":"demo","prompt":"A","max_tokens":24,"temperature":1.2,"top_k":40,"top_p":0.95,"seed":SEED}""";
        var a = Sampled(await CompleteAsync(body.Replace("SEED", "1", StringComparison.Ordinal)));
        var b = Sampled(await CompleteAsync(body.Replace("SEED", "1", StringComparison.Ordinal)));
        var c = Sampled(await CompleteAsync(body.Replace("SEED", "2", StringComparison.Ordinal)));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public async Task Prompt_plus_max_tokens_beyond_the_context_is_context_length_exceeded()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", Completion(2048));
        var error = await response.ReadErrorAsync(400);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("2048", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_are_required_checked_and_scoped()
    {
        const string body = """{"model":"demo","prompt":"x","max_tokens":1}""";
        using var anonymous = new HttpClient { BaseAddress = service.BaseAddress };
        using (var response = await anonymous.PostJsonAsync("/v1/completions", body))
        {
            Assert.Equal("invalid_api_key", (await response.ReadErrorAsync(401)).GetProperty("code").GetString());
        }

        var tampered = service.ApiKey[..^1] + (service.ApiKey[^1] == 'a' ? 'b' : 'a');
        using (var client = service.CreateClient(tampered))
        using (var response = await client.PostJsonAsync("/v1/completions", body))
        {
            Assert.Equal("invalid_api_key", (await response.ReadErrorAsync(401)).GetProperty("code").GetString());
        }

        var scoped = await service.CreateKeyAsync("scoped-co", ["local-demo"]);
        using (var client = service.CreateClient(scoped.Key))
        {
            using (var denied = await client.PostJsonAsync("/v1/completions", body))
            {
                await denied.ReadErrorAsync(403);
            }

            using var allowed = await client.PostJsonAsync("/v1/completions", body.Replace("\"demo\"", "\"local-demo\"", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            var models = await (await client.GetAsync("/v1/models")).ReadJsonAsync();
            Assert.Equal(["local-demo"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
            using var hidden = await client.GetAsync("/v1/models/demo");
            await hidden.ReadErrorAsync(404);
        }
    }

    [Fact]
    public async Task Revoked_key_gets_401_on_the_next_request()
    {
        var created = await service.CreateKeyAsync("revoke-co");
        using var client = service.CreateClient(created.Key);
        using (var ok = await client.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var admin = service.CreateClient(service.AdminKey))
        using (var revoke = await admin.DeleteAsync($"/v1/admin/keys/{created.Info.KeyId}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using var refused = await client.GetAsync("/v1/models");
        await refused.ReadErrorAsync(401);
    }

    [Fact]
    public async Task Admin_routes_need_the_admin_key_and_create_keys_that_work()
    {
        using (var notAdmin = service.CreateClient())
        using (var refused = await notAdmin.GetAsync("/v1/admin/keys"))
        {
            await refused.ReadErrorAsync(401);
        }

        using var admin = service.CreateClient(service.AdminKey);
        using var created = await admin.PostJsonAsync("/v1/admin/keys", """{"customer":"admin-made","name":"ci","models":["demo"]}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.ReadJsonAsync();
        string key = body.GetProperty("key").GetString()!;

        using var list = await admin.GetAsync("/v1/admin/keys?customer=admin-made");
        string listed = await list.Content.ReadAsStringAsync();
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);
        Assert.Contains(body.GetProperty("api_key").GetProperty("id").GetString()!, listed, StringComparison.Ordinal);

        using var client = service.CreateClient(key);
        using var works = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"x","max_tokens":1}""");
        Assert.Equal(HttpStatusCode.OK, works.StatusCode);
    }

    [Fact]
    public async Task Client_disconnect_mid_stream_stops_generation_and_frees_the_slot()
    {
        var finished = new TaskCompletionSource<(long Tokens, string Finish)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ServerlessTelemetry.Name && instrument.Name == ServerlessMetrics.Names.GeneratedTokens)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == TelemetryAttributes.ResponseFinishReasons && (string?)tag.Value == "cancelled")
                {
                    finished.TrySetResult((value, "cancelled"));
                }
            }
        });
        listener.Start();

        const int maxTokens = 2000;
        // No draining: a client that goes away closes the connection instead of reading the rest to reuse it.
        using (var client = service.CreateClient(handler: new SocketsHttpHandler { MaxResponseDrainSize = 0 }))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = ApiResponses.Json(Completion(maxTokens, stream: true)) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer) > 0);
        }

        var (tokens, _) = await finished.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.InRange(tokens, 1, maxTokens - 1);
        var gate = service.Services.GetRequiredService<GenerationGate>();
        await WaitUntil(() => gate.Running == 0);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
