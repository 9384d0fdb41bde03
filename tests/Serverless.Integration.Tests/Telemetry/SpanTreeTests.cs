using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Core.Jobs;
using Serverless.Core.Telemetry;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;
using static Serverless.Core.Telemetry.ServerlessTelemetry;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>
/// The spans of a streamed chat request and of a batch line, as an in-memory exporter receives them: names, parent
/// links, the GenAI attributes, and never the prompt, the completion or the API key.
/// </summary>
[Collection(TelemetryServiceTestGroup.Name)]
public sealed class SpanTreeTests(TelemetryServiceFixture service)
{
    private static readonly string[] PipelineSteps = [Spans.Tokenize, Spans.QueueWait, Spans.LedgerAdmit, Spans.PromptProcessing, Spans.Generation, Spans.LedgerSettle];

    [Fact]
    public async Task A_streamed_chat_request_is_a_request_span_over_a_chat_span_over_each_step_without_prompt_or_completion_text()
    {
        // local-demo is used by no other test of this host, so this request loads it: the load is its child too.
        const string Canary = "zebracanary7731";
        using var client = service.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = ApiResponses.Json($$$"""{"model":"local-demo","messages":[{"role":"user","content":"{{{Canary}}} tell me a story"}],"max_tokens":12,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"""),
        };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string requestId = response.Headers.GetValues("x-request-id").Single();
        var events = await response.ReadEventsAsync();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        string completionId = chunks[0].GetProperty("id").GetString()!;
        var usage = chunks.Last(c => c.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object).GetProperty("usage");
        var text = new StringBuilder();
        string? finish = null;
        foreach (var chunk in chunks)
        {
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                {
                    text.Append(content.GetString());
                }

                if (choice.TryGetProperty("finish_reason", out var reason) && reason.ValueKind == JsonValueKind.String)
                {
                    finish = reason.GetString();
                }
            }
        }

        var top = await service.WaitForRequestSpanAsync(requestId);
        var spans = await service.WaitForTraceAsync(top.TraceId, s => s.Any(x => x.DisplayName == "chat local-demo") && PipelineSteps.All(step => s.Any(x => x.DisplayName == step)));

        Assert.Equal("POST /v1/chat/completions", top.DisplayName);
        Assert.Equal("POST", top.GetTagItem(TelemetryAttributes.HttpMethod));
        Assert.Equal("/v1/chat/completions", top.GetTagItem(TelemetryAttributes.HttpRoute));
        Assert.Equal(200, top.GetTagItem(TelemetryAttributes.HttpStatusCode));
        Assert.Equal("acme", top.GetTagItem(TelemetryAttributes.CustomerId));
        string keyId = Assert.IsType<string>(top.GetTagItem(TelemetryAttributes.KeyId));
        Assert.Contains(keyId, service.ApiKey, StringComparison.Ordinal);
        Assert.Equal("local-demo", top.GetTagItem(TelemetryAttributes.RequestModel));
        string outcome = finish == "length" ? "length" : "completed";
        Assert.Equal(outcome, top.GetTagItem(TelemetryAttributes.Outcome));

        var chat = Assert.Single(spans, s => s.DisplayName == "chat local-demo");
        Assert.Equal(top.SpanId, chat.ParentSpanId);
        Assert.Equal("chat", chat.GetTagItem(TelemetryAttributes.OperationName));
        Assert.Equal("local-demo", chat.GetTagItem(TelemetryAttributes.RequestModel));
        Assert.Equal("local-demo", chat.GetTagItem(TelemetryAttributes.ResponseModel));
        Assert.Equal(12, chat.GetTagItem(TelemetryAttributes.RequestMaxTokens));
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), chat.GetTagItem(TelemetryAttributes.UsageInputTokens));
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt32(), chat.GetTagItem(TelemetryAttributes.UsageOutputTokens));
        Assert.Equal([finish!], Assert.IsType<string[]>(chat.GetTagItem(TelemetryAttributes.ResponseFinishReasons)));
        Assert.Equal(completionId, chat.GetTagItem(TelemetryAttributes.ResponseId));
        Assert.Equal(requestId, chat.GetTagItem(TelemetryAttributes.RequestId));
        Assert.Equal("live", chat.GetTagItem(TelemetryAttributes.RequestType));
        Assert.Equal(ActivityStatusCode.Unset, chat.Status);

        // Each step once, under the chat span, in the pipeline's order; the model load inside the request that caused it.
        var steps = PipelineSteps.Select(step => Assert.Single(spans, s => s.DisplayName == step)).ToList();
        Assert.All(steps, step => Assert.Equal(chat.SpanId, step.ParentSpanId));
        for (int i = 1; i < steps.Count; i++)
        {
            Assert.True(steps[i].StartTimeUtc >= steps[i - 1].StartTimeUtc, $"{steps[i].DisplayName} started before {steps[i - 1].DisplayName}");
        }

        var load = Assert.Single(spans, s => s.DisplayName == Spans.ModelLoad);
        Assert.Equal(chat.SpanId, load.ParentSpanId);
        Assert.Equal("local-demo", load.GetTagItem(TelemetryAttributes.RequestModel));
        Assert.Equal(outcome, Assert.Single(spans, s => s.DisplayName == Spans.LedgerSettle).GetTagItem(TelemetryAttributes.Outcome));

        AssertNoSecretOrText(spans, Canary, text.ToString(), service.ApiKey);

        // The request's log records carry its trace id.
        var logged = service.Logs.Where(l => l.Message.Contains(requestId, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(logged);
        Assert.All(logged, l => Assert.Equal(top.TraceId.ToHexString(), l.Scope.GetValueOrDefault("TraceId")?.ToString()));
        Assert.DoesNotContain(service.Logs, l => l.Message.Contains(Canary, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_batch_line_is_a_chat_span_under_its_chunk_under_the_batch_orchestration_in_the_batch_trace()
    {
        const string Canary = "okapicanary4410";
        using var client = service.CreateClient();
        string file = await client.UploadAsync([BatchCalls.ChatLine("line-1", 6, $"{Canary} describe the river")]);
        using var created = await client.PostJsonAsync("/v1/batches", new { input_file_id = file, endpoint = "/v1/chat/completions", completion_window = "24h" });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        string createRequestId = created.Headers.GetValues("x-request-id").Single();
        string batchId = (await created.ReadJsonAsync()).GetProperty("id").GetString()!;
        var done = await client.WaitUntilDoneAsync(batchId);
        Assert.Equal("completed", BatchCalls.Status(done));

        var context = BatchContext(batchId);
        var spans = await service.WaitForTraceAsync(context.TraceId, s => s.Any(x => x.DisplayName == Spans.BatchOrchestration) && s.Any(x => x.DisplayName == "chat demo") && PipelineSteps.All(step => s.Any(x => x.DisplayName == step)));

        var orchestration = Assert.Single(spans, s => s.DisplayName == Spans.BatchOrchestration);
        Assert.Equal(context.SpanId, orchestration.SpanId);
        Assert.Equal(default, orchestration.ParentSpanId);
        Assert.Equal(batchId, orchestration.GetTagItem(TelemetryAttributes.BatchId));
        Assert.Equal("completed", orchestration.GetTagItem(TelemetryAttributes.BatchStatus));
        Assert.Equal("acme", orchestration.GetTagItem(TelemetryAttributes.CustomerId));
        Assert.True(orchestration.Duration > TimeSpan.Zero);

        var validate = Assert.Single(spans, s => s.DisplayName == Spans.BatchValidate);
        var chunk = Assert.Single(spans, s => s.DisplayName == Spans.BatchChunk);
        var finalize = Assert.Single(spans, s => s.DisplayName == Spans.BatchFinalize);
        Assert.All([validate, chunk, finalize], s => Assert.Equal(orchestration.SpanId, s.ParentSpanId));
        Assert.Equal(0, chunk.GetTagItem(TelemetryAttributes.BatchChunk));

        var line = Assert.Single(spans, s => s.DisplayName == "chat demo");
        Assert.Equal(chunk.SpanId, line.ParentSpanId);
        Assert.Equal(BatchLines.RequestId(batchId, 0), line.GetTagItem(TelemetryAttributes.RequestId));
        Assert.Equal("batch", line.GetTagItem(TelemetryAttributes.RequestType));
        Assert.Equal("chat", line.GetTagItem(TelemetryAttributes.OperationName));
        Assert.Equal("demo", line.GetTagItem(TelemetryAttributes.ResponseModel));
        Assert.Equal("acme", line.GetTagItem(TelemetryAttributes.CustomerId));
        Assert.True((int)line.GetTagItem(TelemetryAttributes.UsageInputTokens)! > 0);
        Assert.InRange((int)line.GetTagItem(TelemetryAttributes.UsageOutputTokens)!, 1, 6);
        Assert.All(PipelineSteps, step => Assert.Equal(line.SpanId, Assert.Single(spans, s => s.DisplayName == step).ParentSpanId));

        // The request that created the batch points at the batch's trace.
        var create = await service.WaitForRequestSpanAsync(createRequestId);
        Assert.Equal(batchId, create.GetTagItem(TelemetryAttributes.BatchId));
        Assert.Contains(create.Links, l => l.Context.TraceId == context.TraceId && l.Context.SpanId == context.SpanId);

        var output = await client.ReadFileLinesAsync(done.GetProperty("output_file_id").GetString());
        string answer = Assert.Single(output).GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        AssertNoSecretOrText([.. spans, create], Canary, answer, service.ApiKey);
    }

    // Everything a span carries, as text: names, attributes, events, links, baggage, status.
    private static void AssertNoSecretOrText(IEnumerable<Activity> spans, string prompt, string completion, string apiKey)
    {
        foreach (var span in spans)
        {
            var carried = new StringBuilder().Append(span.DisplayName).Append('|').Append(span.OperationName).Append('|').Append(span.StatusDescription);
            foreach (var (key, value) in span.TagObjects)
            {
                carried.Append('|').Append(key).Append('=').Append(value is string[] array ? string.Join(',', array) : value);
            }

            foreach (var e in span.Events)
            {
                carried.Append('|').Append(e.Name);
                foreach (var (key, value) in e.Tags)
                {
                    carried.Append('|').Append(key).Append('=').Append(value);
                }
            }

            foreach (var link in span.Links)
            {
                carried.Append('|').Append(link.Context.TraceId).Append(link.Context.SpanId);
            }

            foreach (var (key, value) in span.Baggage)
            {
                carried.Append('|').Append(key).Append('=').Append(value);
            }

            string all = carried.ToString();
            Assert.DoesNotContain(prompt, all, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(apiKey, all, StringComparison.Ordinal);
            if (completion.Trim().Length >= 8)
            {
                Assert.DoesNotContain(completion.Trim(), all, StringComparison.Ordinal);
            }
        }
    }
}
