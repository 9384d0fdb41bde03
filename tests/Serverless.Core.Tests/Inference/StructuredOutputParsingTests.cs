using System.Text.Json;
using Serverless.Core.Http;
using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

/// <summary>response_format, tools and tool turns are read as OpenAI defines them; anything not enforceable is a 400 naming it.</summary>
public sealed class StructuredOutputParsingTests
{
    private const string Weather = """{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false},"strict":true}}""";

    private static ChatCompletionRequest Chat(string json)
    {
        using var document = JsonDocument.Parse(json);
        return GenerationRequestParser.ParseChat(document.RootElement);
    }

    private static ApiException ChatError(string json) => Assert.Throws<ApiException>(() => Chat(json));

    private static string WithFormat(string format) =>
        """{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":""" + format + "}";

    private static string WithSchema(string schema) => WithFormat("""{"type":"json_schema","json_schema":{"name":"s","schema":""" + schema + "}}");

    [Fact]
    public void A_json_schema_response_format_keeps_its_schema_for_guidance()
    {
        var request = Chat("""{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}}}""");
        var format = Assert.IsType<OutputFormat>(request.Options.Format);
        Assert.Equal("json_schema", format.Kind);
        Assert.Equal("city", format.Name);
        Assert.Equal("""{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}""", format.Schema);
        Assert.Equal(new Guidance("json_schema", format.Schema), Guidance.For(request.Options, ToolCallSyntax.Tagged));
    }

    [Fact]
    public void Json_object_needs_the_word_json_in_the_messages_as_openai_requires()
    {
        var request = Chat("""{"model":"m","messages":[{"role":"user","content":"Answer in JSON."}],"response_format":{"type":"json_object"}}""");
        Assert.Equal("""{"type":"object"}""", request.Options.Format!.Schema);

        var error = ChatError("""{"model":"m","messages":[{"role":"user","content":"Answer."}],"response_format":{"type":"json_object"}}""");
        Assert.Equal("messages", error.Param);
        Assert.Contains("json", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"object","patternProperties":{"^a":{"type":"string"}}}""", "patternProperties", "#/patternProperties")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"array","uniqueItems":true}}}""", "uniqueItems", "#/properties/a/uniqueItems")]
    [InlineData("""{"if":{"type":"string"},"then":{"minLength":2}}""", "if", "#/if")]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"integer"}]}""", "oneOf", "#/oneOf")]
    [InlineData("""{"type":"string","format":"uri"}""", "format", "#/format")]
    [InlineData("""{"$ref":"https://example.com/schema.json"}""", "$ref", "#/$ref")]
    public void A_schema_keyword_guidance_cannot_enforce_is_a_400_naming_the_keyword_and_where_it_is(string schema, string keyword, string path)
    {
        var error = ChatError(WithSchema(schema));
        Assert.Equal(400, error.Status);
        Assert.Equal("unsupported_schema", error.Code);
        Assert.Equal("response_format.json_schema.schema", error.Param);
        Assert.Contains(keyword, error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"s","schema":"{\"type\":\"object\"}"}}""", "response_format.json_schema.schema", "invalid_type")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"strnig"}}}""", "response_format.json_schema.schema", "invalid_json_schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"string","pattern":"(unclosed"}}}""", "response_format.json_schema.schema", "invalid_json_schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"schema":{}}}""", "response_format.json_schema.name", "missing_required_parameter")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"has space","schema":{}}}""", "response_format.json_schema.name", "invalid_value")]
    [InlineData("""{"type":"json_schema"}""", "response_format.json_schema", "missing_required_parameter")]
    public void A_malformed_json_schema_response_format_is_a_400_naming_the_field(string format, string param, string code)
    {
        var error = ChatError(WithFormat(format));
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void An_oversized_or_too_deep_schema_is_a_400()
    {
        string wide = "{\"type\":\"object\",\"properties\":{" + string.Join(',', Enumerable.Range(0, 3000).Select(i => $"\"property_{i}\":{{\"type\":\"string\"}}")) + "}}";
        Assert.Equal("schema_too_large", ChatError(WithSchema(wide)).Code);

        string deep = string.Concat(Enumerable.Repeat("{\"type\":\"array\",\"items\":", 20)) + "{\"type\":\"string\"}" + new string('}', 20);
        Assert.Equal("schema_too_large", ChatError(WithSchema(deep)).Code);
    }

    [Fact]
    public void Tools_and_a_named_choice_become_a_grammar_that_allows_only_a_call_of_that_function()
    {
        var request = Chat("""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[""" + Weather + """,{"type":"function","function":{"name":"get_time"}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}}}""");
        var tools = request.Options.Tools!;
        Assert.Equal(ToolChoice.Named, tools.Choice);
        Assert.Equal(["get_weather", "get_time"], tools.Tools.Select(t => t.Name));
        Assert.True(tools.Tools[0].Strict);

        var guidance = Guidance.For(request.Options, ToolCallSyntax.Tagged)!;
        Assert.Equal("lark_grammar", guidance.Type);
        Assert.StartsWith("start: calls\n", guidance.Data, StringComparison.Ordinal);
        Assert.Contains("calls: call\n", guidance.Data, StringComparison.Ordinal);
        Assert.Contains("\"<tool_call>\" %json {\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_weather\"}", guidance.Data, StringComparison.Ordinal);
        Assert.DoesNotContain("get_time", guidance.Data, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_allows_an_answer_in_text_or_calls_and_none_adds_no_guidance()
    {
        var auto = Chat($$"""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{{Weather}}]}""");
        Assert.Equal(ToolChoice.Auto, auto.Options.Tools!.Choice);
        string grammar = Guidance.For(auto.Options, ToolCallSyntax.Tagged)!.Data;
        Assert.StartsWith("start: calls | answer\n", grammar, StringComparison.Ordinal);
        Assert.Contains("calls: call+\n", grammar, StringComparison.Ordinal);

        var serial = Chat($$"""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{{Weather}}],"tool_choice":"required","parallel_tool_calls":false}""");
        Assert.Contains("calls: call\n", Guidance.For(serial.Options, ToolCallSyntax.Tagged)!.Data, StringComparison.Ordinal);

        var none = Chat($$"""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{{Weather}}],"tool_choice":"none"}""");
        Assert.Null(Guidance.For(none.Options, ToolCallSyntax.Tagged));
    }

    [Theory]
    [InlineData("""{"tools":[WEATHER],"tool_choice":{"type":"function","function":{"name":"get_time"}}}""", "tool_choice.function.name", "invalid_value")]
    [InlineData("""{"tools":[WEATHER],"tool_choice":"sometimes"}""", "tool_choice", "invalid_value")]
    [InlineData("""{"tool_choice":"required"}""", "tool_choice", "invalid_value")]
    [InlineData("""{"tools":[WEATHER,WEATHER]}""", "tools", "invalid_value")]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"get weather"}}]}""", "tools[0].function.name", "invalid_value")]
    [InlineData("""{"tools":[{"type":"retrieval"}]}""", "tools[0].type", "invalid_value")]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","propertyNames":{"pattern":"^a"}}}}]}""", "tools[0].function.parameters", "unsupported_schema")]
    [InlineData("""{"tools":{"type":"function"}}""", "tools", "invalid_type")]
    [InlineData("""{"functions":[{"name":"f"}]}""", "functions", "unsupported_parameter")]
    [InlineData("""{"function_call":"auto"}""", "function_call", "unsupported_parameter")]
    public void Bad_tools_are_a_400_naming_the_field(string fields, string param, string code)
    {
        string json = """{"model":"m","messages":[{"role":"user","content":"x"}],""" + fields.Replace("WEATHER", Weather, StringComparison.Ordinal)[1..];
        var error = ChatError(json);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Assistant_tool_calls_and_tool_results_are_conversation_turns()
    {
        var request = Chat("""
            {"model":"m","messages":[
              {"role":"user","content":"Weather in Oslo?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"4 degrees"}]}
            """);
        Assert.Equal(new ToolCall("call_1", "get_weather", """{"city":"Oslo"}"""), Assert.Single(request.Messages[1].ToolCalls));
        Assert.Equal("call_1", request.Messages[2].ToolCallId);
        Assert.Equal("tool", request.Messages[2].Role);
    }

    [Fact]
    public void A_tool_message_without_a_matching_earlier_call_is_a_400()
    {
        var error = ChatError("""{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"call_9","content":"4 degrees"}]}""");
        Assert.Equal("messages[1].tool_call_id", error.Param);

        var missingId = ChatError("""{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","content":"4 degrees"}]}""");
        Assert.Equal("messages[1].tool_call_id", missingId.Param);
        Assert.Equal("missing_required_parameter", missingId.Code);
    }

    [Fact]
    public void Finished_output_in_the_call_syntax_parses_into_calls_with_compact_arguments()
    {
        var tools = Chat($$"""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{{Weather}}]}""").Options.Tools!;
        var calls = ToolCallSyntax.Tagged.Parse("""<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call> <tool_call>{"name":"get_weather","arguments":{"city":"Bergen"}}</tool_call>""", tools);
        Assert.Equal(["""{"city":"Oslo"}""", """{"city":"Bergen"}"""], calls.Select(c => c.Arguments));
        Assert.All(calls, c => Assert.StartsWith("call_", c.Id, StringComparison.Ordinal));
        Assert.NotEqual(calls[0].Id, calls[1].Id);

        Assert.Empty(ToolCallSyntax.Tagged.Parse("It is sunny.", tools));
        Assert.Empty(ToolCallSyntax.Tagged.Parse("""<tool_call>{"name": "get_weather", "argum""", tools));
        Assert.Empty(ToolCallSyntax.Tagged.Parse("""<tool_call>{"name":"launch","arguments":{}}</tool_call>""", tools));
        Assert.True(ToolCallSyntax.Tagged.MayBeCall(" <tool"));
        Assert.False(ToolCallSyntax.Tagged.MayBeCall("It"));
    }
}
