using System.Text.Json;
using Serverless.Core.Http;
using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

public sealed class GenerationRequestParserTests
{
    private static ChatCompletionRequest Chat(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return GenerationRequestParser.ParseChat(doc.RootElement);
    }

    private static CompletionRequest Completion(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return GenerationRequestParser.ParseCompletion(doc.RootElement);
    }

    private static ApiException ChatError(string json) => Assert.Throws<ApiException>(() => Chat(json));

    [Fact]
    public void A_full_chat_request_is_read_with_every_parameter()
    {
        var request = Chat("""
            {"model":"demo","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}],
             "max_completion_tokens":12,"max_tokens":99,"temperature":0.5,"top_p":0.9,"top_k":40,"seed":7,"stop":["a","b"],
             "stream":true,"stream_options":{"include_usage":true},"user":"u1","n":1}
            """);
        Assert.Equal("demo", request.Options.Model);
        Assert.Equal(12, request.Options.MaxTokens);
        Assert.Equal(0.5, request.Options.Temperature);
        Assert.Equal(0.9, request.Options.TopP);
        Assert.Equal(40, request.Options.TopK);
        Assert.Equal(7, request.Options.Seed);
        Assert.Equal(["a", "b"], request.Options.Stop);
        Assert.True(request.Options.Stream);
        Assert.True(request.Options.IncludeUsage);
        Assert.Equal("u1", request.Options.User);
        Assert.Equal("hi there", request.Messages[1].Content);
    }

    [Fact]
    public void Developer_messages_are_treated_as_system_messages()
    {
        var request = Chat("""{"model":"m","messages":[{"role":"developer","content":"rules"}]}""");
        Assert.Equal("system", request.Messages[0].Role);
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model", "missing_required_parameter")]
    [InlineData("""{"model":5,"messages":[{"role":"user","content":"x"}]}""", "model", "invalid_type")]
    [InlineData("""{"model":"m"}""", "messages", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":"hello"}""", "messages", "invalid_type")]
    [InlineData("""{"model":"m","messages":[]}""", "messages", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"content":"x"}]}""", "messages[0].role", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}""", "max_tokens", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1}""", "max_tokens", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}""", "max_tokens", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}""", "temperature", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":0}""", "top_p", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}""", "n", "unsupported_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}""", "stop", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}""", "stop[0]", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "stream", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}""", "stream_options", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}""", "messages[0].content[0].type", "unsupported_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}""", "tools[0].function", "missing_required_parameter")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}""", "messages", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}""", "response_format.type", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"json"}""", "response_format", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{}}""", "response_format.type", "missing_required_parameter")]
    public void Invalid_chat_requests_are_rejected_naming_the_parameter(string json, string param, string code)
    {
        var error = ChatError(json);
        Assert.Equal(400, error.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":null}""")]
    public void A_plain_text_response_format_is_accepted(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Single(GenerationRequestParser.ParseChat(document.RootElement).Messages);
    }

    [Fact]
    public void A_completion_prompt_may_be_text_one_string_in_an_array_or_token_ids()
    {
        Assert.Equal("abc", Completion("""{"model":"m","prompt":"abc"}""").Prompt);
        Assert.Equal("abc", Completion("""{"model":"m","prompt":["abc"]}""").Prompt);
        Assert.Equal([1, 2, 3], Completion("""{"model":"m","prompt":[1,2,3]}""").PromptTokens);
    }

    [Theory]
    [InlineData("""{"model":"m"}""", "prompt")]
    [InlineData("""{"model":"m","prompt":["a","b"]}""", "prompt")]
    [InlineData("""{"model":"m","prompt":[1,-2]}""", "prompt[1]")]
    [InlineData("""{"model":"m","prompt":"x","echo":true}""", "echo")]
    [InlineData("""{"model":"m","prompt":"x","best_of":3}""", "best_of")]
    [InlineData("""{"model":"m","prompt":"x","max_completion_tokens":"x"}""", null)]
    public void Invalid_completion_requests_are_rejected(string json, string? param)
    {
        if (param is null)
        {
            // max_completion_tokens belongs to chat; /v1/completions ignores it like OpenAI does.
            Assert.NotNull(Completion(json));
            return;
        }

        var error = Assert.Throws<ApiException>(() => Completion(json));
        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
    }
}
