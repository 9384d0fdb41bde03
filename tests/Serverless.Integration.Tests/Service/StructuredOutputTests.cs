using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Json.Schema;
using Microsoft.EntityFrameworkCore;
using OpenAI;
using OpenAI.Chat;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>
/// Structured outputs and tool calls through the official OpenAI .NET SDK against the local host: the demo model,
/// guided by ONNX Runtime GenAI's constrained decoding, answers JSON valid against the schema and calls tools with
/// arguments valid against their parameters, whole and streamed. Outputs are checked with JsonSchema.Net.
/// </summary>
[Collection(ServiceTestGroup.Name)]
public sealed class StructuredOutputTests(ServiceFixture service)
{
    private const string CitySchema = """
        {"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"},"coastal":{"type":"boolean"}},
         "required":["city","population","coastal"],"additionalProperties":false}
        """;

    private const string WeatherParameters = """
        {"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7}},
         "required":["city","days"],"additionalProperties":false}
        """;

    private const string TimeParameters = """{"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"],"additionalProperties":false}""";

    private static readonly ChatMessage[] Question = [new UserChatMessage("Describe a city as JSON.")];

    private OpenAIClientOptions Options => new() { Endpoint = new Uri(service.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromMinutes(1) };

    private ChatClient Chat() => new("demo", new ApiKeyCredential(service.ApiKey), Options);

    private static ChatTool Weather => ChatTool.CreateFunctionTool("get_weather", "The forecast for a city", BinaryData.FromString(WeatherParameters), functionSchemaIsStrict: true);

    private static ChatTool Time => ChatTool.CreateFunctionTool("get_time", "The time in a zone", BinaryData.FromString(TimeParameters), functionSchemaIsStrict: true);

    private static void AssertValid(string schema, string json)
    {
        var result = JsonSchema.FromText(schema).Evaluate(JsonDocument.Parse(json).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{json} is not valid against {schema}: {string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Values))}");
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public async Task A_strict_json_schema_response_format_answers_json_valid_against_the_schema(float temperature)
    {
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(CitySchema), jsonSchemaIsStrict: true),
            Temperature = temperature,
            MaxOutputTokenCount = 200,
        };

        ChatCompletion completion = await Chat().CompleteChatAsync(Question, options);

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        AssertValid(CitySchema, completion.Content[0].Text);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 199);
    }

    [Fact]
    public async Task A_streamed_json_schema_answer_is_the_same_valid_json_as_the_whole_one()
    {
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(CitySchema), jsonSchemaIsStrict: true),
            Temperature = 0,
            MaxOutputTokenCount = 200,
        };
        ChatCompletion whole = await Chat().CompleteChatAsync(Question, options);

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in Chat().CompleteChatStreamingAsync(Question, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(whole.Content[0].Text, text.ToString());
        AssertValid(CitySchema, text.ToString());
    }

    [Fact]
    public async Task Json_object_answers_one_json_object()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(Question, new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat(),
            Temperature = 0,
            MaxOutputTokenCount = 200,
        });

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(completion.Content[0].Text).RootElement.ValueKind);
    }

    [Fact]
    public async Task Max_tokens_reached_inside_the_json_gives_finish_reason_length_and_the_partial_text()
    {
        ChatCompletion completion = await Chat().CompleteChatAsync(Question, new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(CitySchema), jsonSchemaIsStrict: true),
            Temperature = 0,
            MaxOutputTokenCount = 4,
        });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.StartsWith("{", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(4, completion.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData("required")]
    [InlineData("named")]
    public async Task A_required_or_named_tool_choice_returns_a_call_with_arguments_valid_against_the_parameters(string choice)
    {
        var options = new ChatCompletionOptions
        {
            Tools = { Time, Weather },
            ToolChoice = choice == "named" ? ChatToolChoice.CreateFunctionChoice("get_weather") : ChatToolChoice.CreateRequiredChoice(),
            Temperature = 0,
            MaxOutputTokenCount = 200,
        };

        ChatCompletion completion = await Chat().CompleteChatAsync([new UserChatMessage("What is the weather in Oslo?")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.NotEmpty(completion.ToolCalls);
        foreach (var call in completion.ToolCalls)
        {
            Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
            Assert.Equal(ChatToolCallKind.Function, call.Kind);
            Assert.Contains(call.FunctionName, (string[])["get_weather", "get_time"]);
            AssertValid(call.FunctionName == "get_weather" ? WeatherParameters : TimeParameters, call.FunctionArguments.ToString());
        }

        if (choice == "named")
        {
            Assert.Equal("get_weather", Assert.Single(completion.ToolCalls).FunctionName);
        }
    }

    [Fact]
    public async Task A_streamed_tool_call_is_assembled_by_the_sdk_into_the_same_call()
    {
        var options = new ChatCompletionOptions
        {
            Tools = { Weather },
            ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather"),
            Temperature = 0,
            MaxOutputTokenCount = 200,
        };
        ChatMessage[] question = [new UserChatMessage("What is the weather in Oslo?")];
        ChatCompletion whole = await Chat().CompleteChatAsync(question, options);

        var names = new Dictionary<int, string>();
        var ids = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        var content = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in Chat().CompleteChatStreamingAsync(question, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                content.Append(part.Text);
            }

            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is { } id)
                {
                    ids[call.Index] = id;
                }

                if (call.FunctionName is { } name)
                {
                    names[call.Index] = name;
                }

                (arguments.TryGetValue(call.Index, out var text) ? text : arguments[call.Index] = new StringBuilder())
                    .Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(string.Empty, content.ToString());
        Assert.Equal("get_weather", Assert.Single(names).Value);
        Assert.StartsWith("call_", ids[0], StringComparison.Ordinal);
        Assert.Equal(whole.ToolCalls[0].FunctionArguments.ToString(), arguments[0].ToString());
        AssertValid(WeatherParameters, arguments[0].ToString());
    }

    [Fact]
    public async Task Auto_lets_the_demo_model_answer_in_text_and_none_never_calls()
    {
        // The demo model prefers words; under "auto" its grammar allows text or a call, so it answers in text.
        foreach (var choice in new[] { ChatToolChoice.CreateAutoChoice(), ChatToolChoice.CreateNoneChoice() })
        {
            ChatCompletion completion = await Chat().CompleteChatAsync([new UserChatMessage("Tell me a story.")], new ChatCompletionOptions
            {
                Tools = { Weather },
                ToolChoice = choice,
                Temperature = 0,
                MaxOutputTokenCount = 12,
            });

            Assert.Empty(completion.ToolCalls);
            Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
            Assert.DoesNotContain("<tool_call>", completion.Content[0].Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_streamed_answer_in_text_under_auto_is_the_whole_answer_though_its_start_was_held_back()
    {
        var options = new ChatCompletionOptions { Tools = { Weather }, Temperature = 0, MaxOutputTokenCount = 24 };
        ChatMessage[] question = [new UserChatMessage("Tell me a story.")];
        ChatCompletion whole = await Chat().CompleteChatAsync(question, options);

        var text = new StringBuilder();
        int toolUpdates = 0;
        await foreach (var update in Chat().CompleteChatStreamingAsync(question, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            toolUpdates += update.ToolCallUpdates.Count;
        }

        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(0, toolUpdates);
    }

    [Fact]
    public async Task A_conversation_with_a_call_and_its_result_continues()
    {
        ChatMessage[] conversation =
        [
            new UserChatMessage("What is the weather in Oslo?"),
            new AssistantChatMessage([ChatToolCall.CreateFunctionToolCall("call_abc", "get_weather", BinaryData.FromString("""{"city":"Oslo","days":1}"""))]),
            new ToolChatMessage("call_abc", "4 degrees and rain"),
        ];

        ChatCompletion completion = await Chat().CompleteChatAsync(conversation, new ChatCompletionOptions { Tools = { Weather }, Temperature = 0, MaxOutputTokenCount = 12 });

        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.True(completion.Usage.InputTokenCount > 40, "the call and its result are part of the prompt");
    }

    [Fact]
    public async Task An_idempotent_retry_returns_the_same_tool_calls_and_is_billed_once()
    {
        using var client = service.CreateClient();
        const string body = """
            {"model":"demo","temperature":0,"max_tokens":200,"messages":[{"role":"user","content":"Weather in Oslo?"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}],
             "tool_choice":"required"}
            """;
        string key = "tools-" + Guid.NewGuid().ToString("N");

        async Task<(JsonElement Body, HttpResponseMessage Response)> SendAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            var response = await client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            return ((await response.Content.ReadFromJsonAsync<JsonElement>()).Clone(), response);
        }

        var (first, original) = await SendAsync();
        var (second, replay) = await SendAsync();

        var calls = first.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls");
        Assert.Equal("tool_calls", first.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(calls.GetRawText(), second.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").GetRawText());
        Assert.Equal("true", replay.Headers.GetValues("x-idempotent-replay").Single());

        // Every generated token of the guided call is billed, once: one record, for the first request.
        await using var db = service.Database();
        var record = await db.Set<UsageRecord>().AsNoTracking().SingleAsync(r => r.RequestId == original.Headers.GetValues("x-request-id").Single());
        Assert.Equal(first.GetProperty("usage").GetProperty("completion_tokens").GetInt64(), record.CompletionTokens);
        Assert.Equal(UsageOutcome.Completed, record.Outcome);
        Assert.False(await db.Set<UsageRecord>().AnyAsync(r => r.RequestId == replay.Headers.GetValues("x-request-id").Single()));
    }

    [Fact]
    public async Task Batch_lines_take_response_format_and_tools_like_live_requests()
    {
        using var client = service.CreateClient();
        string[] lines =
        [
            """{"custom_id":"json","method":"POST","url":"/v1/chat/completions","body":{"model":"demo","temperature":0,"max_tokens":200,"messages":[{"role":"user","content":"A city."}],"response_format":{"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":"""
                + CitySchema.ReplaceLineEndings(" ") + "}}}}",
            """{"custom_id":"call","method":"POST","url":"/v1/chat/completions","body":{"model":"demo","temperature":0,"max_tokens":200,"messages":[{"role":"user","content":"Weather?"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"get_weather","parameters":"""
                + WeatherParameters.ReplaceLineEndings(" ") + "}}]}}",
        ];
        string batchId = (await client.CreateBatchAsync(await client.UploadAsync(lines), "/v1/chat/completions")).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(batchId);

        Assert.Equal((2, 2, 0), BatchCalls.Counts(batch));
        var outputs = await client.ReadFileLinesAsync(batch.OptionalString("output_file_id"));
        var json = Assert.Single(outputs, o => o.GetProperty("custom_id").GetString() == "json").GetProperty("response").GetProperty("body").GetProperty("choices")[0];
        Assert.Equal("stop", json.GetProperty("finish_reason").GetString());
        AssertValid(CitySchema, json.GetProperty("message").GetProperty("content").GetString()!);

        var call = Assert.Single(outputs, o => o.GetProperty("custom_id").GetString() == "call").GetProperty("response").GetProperty("body").GetProperty("choices")[0];
        Assert.Equal("tool_calls", call.GetProperty("finish_reason").GetString());
        var function = call.GetProperty("message").GetProperty("tool_calls")[0].GetProperty("function");
        Assert.Equal("get_weather", function.GetProperty("name").GetString());
        AssertValid(WeatherParameters, function.GetProperty("arguments").GetString()!);
    }

    [Theory]
    [InlineData("""{"model":"demo","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","patternProperties":{"^a":{}}}}}}""", "response_format.json_schema.schema")]
    [InlineData("""{"model":"demo","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":"not json"}}}""", "response_format.json_schema.schema")]
    [InlineData("""{"model":"demo","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice.function.name")]
    [InlineData("""{"model":"demo","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"call_1","content":"y"}]}""", "messages[1].tool_call_id")]
    public async Task Bad_structured_output_requests_are_openai_style_400s(string body, string param)
    {
        using var client = service.CreateClient();
        var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }
}
