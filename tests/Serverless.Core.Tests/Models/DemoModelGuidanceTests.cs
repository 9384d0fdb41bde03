using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Serverless.Core.Tests.Models;

/// <summary>
/// The demo model under ONNX Runtime GenAI's constrained decoding (llguidance): JSON and tool calls come out
/// whole and end well within 200 tokens, greedy or sampled, while unguided output stays allow-listed words.
/// </summary>
[Collection(DemoModelCollection.Name)]
public sealed class DemoModelGuidanceTests(DemoModelFixture fixture)
{
    private const int MaxNewTokens = 200;
    private const int Vocabulary = 50257;
    private const int QuoteToken = 1;

    private const string CitySchema = """
        {"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},
         "required":["city","population"],"additionalProperties":false}
        """;

    private const string ToolCallSchema = """
        {"type":"object","properties":{
           "name":{"const":"get_weather"},
           "arguments":{"type":"object","properties":{"location":{"type":"string"},"days":{"type":"integer"}},
                        "required":["location","days"],"additionalProperties":false}},
         "required":["name","arguments"],"additionalProperties":false}
        """;

    /// <summary>0 is greedy search; any other value samples at temperature 1 with that seed.</summary>
    public static TheoryData<int> GreedyAndSampled => [0, 1, 2, 3, 4, 5];

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Json_schema_guidance_ends_a_small_object_with_valid_values(int seed)
    {
        var run = Generate(ChatPrompt("Which city is the biggest?"), seed, ("json_schema", CitySchema));

        using var json = run.ParseFinishedJson();
        var root = json.RootElement;
        Assert.Equal(new[] { "city", "population" }, root.EnumerateObject().Select(p => p.Name));
        // A string the model writes ends after three allow-listed words.
        AssertAllowedWords(root.GetProperty("city").GetString()!, count: 3);
        Assert.True(root.GetProperty("population").TryGetInt64(out _), root.GetProperty("population").GetRawText());
    }

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Json_object_guidance_ends_with_an_object(int seed)
    {
        var run = Generate(ChatPrompt("Describe a garden as JSON."), seed, ("json_schema", """{"type":"object"}"""));

        using var json = run.ParseFinishedJson();
        var member = Assert.Single(json.RootElement.EnumerateObject());
        AssertAllowedWords(member.Name, count: 3);
    }

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Tool_call_schema_ends_with_the_name_and_both_arguments(int seed)
    {
        var run = Generate(ChatPrompt("What is the weather in Paris this week?"), seed, ("json_schema", ToolCallSchema));

        using var json = run.ParseFinishedJson();
        Assert.Equal("get_weather", json.RootElement.GetProperty("name").GetString());
        var arguments = json.RootElement.GetProperty("arguments");
        Assert.Equal(new[] { "location", "days" }, arguments.EnumerateObject().Select(p => p.Name));
        AssertAllowedWords(arguments.GetProperty("location").GetString()!, count: 3);
        Assert.True(arguments.GetProperty("days").TryGetInt32(out _));
    }

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Schemas_with_required_spacing_arrays_booleans_and_number_ranges_end(int seed)
    {
        // Separators with spaces make the grammar force whitespace before strings; a minimum forces several digits.
        const string schema = """
            {"type":"object","properties":{
               "title":{"type":"string"},
               "tags":{"type":"array","items":{"type":"string"},"minItems":2},
               "open":{"type":"boolean"},
               "size":{"type":"number","minimum":100},
               "note":{"type":["string","null"]}},
             "required":["title","tags","open","size","note"],
             "x-guidance":{"whitespace_flexible":false,"key_separator":": ","item_separator":", "}}
            """;

        var run = Generate(ChatPrompt("A record, please."), seed, ("json_schema", schema));

        using var json = run.ParseFinishedJson();
        var root = json.RootElement;
        AssertAllowedWords(root.GetProperty("title").GetString()!, count: 3);
        Assert.Equal(2, root.GetProperty("tags").GetArrayLength());
        Assert.All(root.GetProperty("tags").EnumerateArray(), tag => AssertAllowedWords(tag.GetString()!, count: 3));
        Assert.Contains(root.GetProperty("open").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.InRange(root.GetProperty("size").GetDouble(), 100, double.MaxValue);
        Assert.Contains(root.GetProperty("note").ValueKind, new[] { JsonValueKind.String, JsonValueKind.Null });
    }

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Any_json_value_guidance_ends(int seed)
    {
        // An empty schema allows any value; a free value is a number, which (unlike a string at the top level) ends.
        var run = Generate(ChatPrompt("Anything."), seed, ("json_schema", "{}"));

        using var json = run.ParseFinishedJson();
        Assert.Equal(JsonValueKind.Number, json.RootElement.ValueKind);
    }

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Lark_grammar_with_text_or_a_json_call_gives_one_of_them_whole(int seed)
    {
        var grammar = $$"""
            start: text | call
            text: /( [a-z]+){1,12}/
            call: "<tool_call>" %json{{Compact(ToolCallSchema)}} "</tool_call>"
            """;

        var run = Generate(ChatPrompt("Tell me about the weather."), seed, ("lark_grammar", grammar));

        Assert.True(run.EndedWithEndOfText, run.Text);
        var call = Regex.Match(run.Text, "^<tool_call>(.*)</tool_call>$", RegexOptions.Singleline);
        if (call.Success)
        {
            using var json = JsonDocument.Parse(call.Groups[1].Value);
            Assert.Equal("get_weather", json.RootElement.GetProperty("name").GetString());
        }
        else
        {
            AssertAllowedWords(run.Text, count: null);
        }
    }

    [Theory]
    [MemberData(nameof(GreedyAndSampled))]
    public void Lark_grammar_wrapping_a_json_call_gives_the_call(int seed)
    {
        var grammar = $$"""
            start: "<tool_call>" %json{{Compact(ToolCallSchema)}} "</tool_call>"
            """;

        var run = Generate(ChatPrompt("Tell me about the weather."), seed, ("lark_grammar", grammar));

        Assert.True(run.EndedWithEndOfText, run.Text);
        var call = Regex.Match(run.Text, "^<tool_call>(.*)</tool_call>$", RegexOptions.Singleline);
        Assert.True(call.Success, run.Text);
        using var json = JsonDocument.Parse(call.Groups[1].Value);
        Assert.Equal("get_weather", json.RootElement.GetProperty("name").GetString());
        AssertAllowedWords(json.RootElement.GetProperty("arguments").GetProperty("location").GetString()!, count: 3);
    }

    [Fact]
    public void Guided_output_is_the_same_for_the_same_seed_prompt_and_schema()
    {
        var prompt = ChatPrompt("Which city is the biggest?");
        string Text(int seed) => Generate(prompt, seed, ("json_schema", CitySchema)).Text;

        Assert.Equal(Text(0), Text(0));
        Assert.Equal(Text(3), Text(3));
        Assert.True(Enumerable.Range(1, 5).Select(Text).Distinct().Count() > 1, "different seeds should give different values");
    }

    public static TheoryData<string> PromptsThatQuoteOrHoldJson =>
    [
        "He said \"yes\" and then the river",
        "{\"city\": \"the river lake sea",
        "{\"city\":\"the river lake sea",
        "[\"a\",\"the sea is blue and",
        "Say \"",
        "x: \"the sea is",
        "{\"a\":1,\"b\":\" the dog",
        "<|user|>\n\"\"\"the\"\" \" the cat sat on the mat\n\"",
        "{\"population\": 12",
    ];

    [Theory]
    [MemberData(nameof(PromptsThatQuoteOrHoldJson))]
    public void Unguided_output_stays_allow_listed_words_after_prompts_that_quote_or_hold_json(string prompt)
    {
        var ids = fixture.Encode(prompt);

        var greedy = Generate(ids, seed: 0, guidance: null);
        Assert.Equal(MaxNewTokens, greedy.Tokens.Count);
        Assert.All(greedy.Tokens, token => Assert.Contains(token, fixture.AllowedTokenIds));

        for (var seed = 1; seed <= 3; seed++)
        {
            var sampled = Generate(ids, seed, guidance: null, temperature: 2.0, topK: 50257);
            Assert.All(sampled.Tokens, token => Assert.True(
                token == DemoModelFixture.EndOfText || fixture.AllowedTokenIds.Contains(token),
                $"seed {seed} emitted token {token}, which is not on the allow-list"));
        }
    }

    [Fact]
    public void Quote_prefixes_and_a_quote_never_encode_as_two_tokens()
    {
        // The model knows a string it opened from one a prompt quoted by exactly this: "{", "[", ":", ",", " "
        // followed by '"' as separate tokens only ever come from the model itself.
        int[] prefixes = [.. new[] { "{", "[", ":", ",", " " }.Select(p => fixture.Encode(p).Single())];
        string[] pieces = ["{", "}", "[", "]", ":", ",", "\"", " ", "  ", "\n", "\t", "a", "the", "7", "'", "\\", "{\"", "\": \"", "é"];
        var random = new Random(20260601);
        for (var i = 0; i < 20_000; i++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(2, 12)).Select(_ => pieces[random.Next(pieces.Length)]));
            var ids = fixture.Encode(text);
            for (var j = 1; j < ids.Length; j++)
            {
                Assert.False(ids[j] == QuoteToken && prefixes.Contains(ids[j - 1]), $"'{text}' encodes a prefix and a quote as two tokens");
            }
        }
    }

    [Fact]
    public void Json_state_is_the_same_decoding_token_by_token_as_in_one_prefill()
    {
        // The state layers keep what they know in the KV cache: a prefill of prompt + guided output must see the
        // same state at every position as decoding one token at a time, and the closing quote must lead the raw
        // logits exactly after the third word of each string the model opened.
        var prompt = ChatPrompt("What is the weather in Paris this week?");
        var output = Generate(prompt, seed: 0, ("json_schema", ToolCallSchema)).Tokens.Where(t => t != DemoModelFixture.EndOfText).ToArray();
        int[] sequence = [.. prompt, .. output];

        int[] prefill;
        using (var options = NewOptions(sequence.Length + 1))
        using (var generator = new Generator(fixture.Model, options))
        {
            generator.AppendTokens(sequence);
            using var logits = generator.GetOutput("logits");
            var data = logits.GetData<float>();
            prefill = new int[output.Length];
            for (var i = 0; i < output.Length; i++)
            {
                prefill[i] = ArgMax(data.Slice((prompt.Length - 1 + i) * Vocabulary, Vocabulary));
            }
        }

        var stepwise = new List<int>();
        using (var options = NewOptions(sequence.Length + 1))
        using (var generator = new Generator(fixture.Model, options))
        {
            generator.AppendTokens(prompt);
            foreach (var token in output)
            {
                using (var logits = generator.GetOutput("logits"))
                {
                    stepwise.Add(ArgMax(logits.GetData<float>()[^Vocabulary..]));
                }

                generator.AppendTokens([token]);
            }
        }

        Assert.Equal(prefill, stepwise);
        var expectedQuotes = Enumerable.Range(0, output.Length)
            .Where(i => i >= 4 && output[(i - 3)..i].All(fixture.AllowedTokenIds.Contains) && output[i - 4] == QuoteToken)
            .ToArray();
        Assert.NotEmpty(expectedQuotes);
        Assert.Equal(expectedQuotes, Enumerable.Range(0, output.Length).Where(i => prefill[i] == QuoteToken));
    }

    private int[] ChatPrompt(string user) =>
        fixture.Encode(fixture.Tokenizer.ApplyChatTemplate(null, JsonSerializer.Serialize(new[] { new { role = "user", content = user } }), null, true));

    private Run Generate(int[] prompt, int seed, (string Type, string Data)? guidance, double temperature = 1.0, int topK = 50)
    {
        using var options = NewOptions(prompt.Length + MaxNewTokens);
        if (seed != 0)
        {
            options.SetSearchOption("do_sample", true);
            options.SetSearchOption("temperature", temperature);
            options.SetSearchOption("top_k", topK);
            options.SetSearchOption("random_seed", seed);
        }

        if (guidance is var (type, data))
        {
            options.SetGuidance(type, data);
        }

        using var generator = new Generator(fixture.Model, options);
        generator.AppendTokens(prompt);
        var tokens = new List<int>();
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            tokens.Add(generator.GetNextTokens()[0]);
        }

        return new Run(tokens, fixture.Tokenizer.Decode([.. tokens.Where(t => t != DemoModelFixture.EndOfText)]));
    }

    private GeneratorParams NewOptions(int maxLength)
    {
        var options = new GeneratorParams(fixture.Model);
        options.SetSearchOption("max_length", maxLength);
        return options;
    }

    private void AssertAllowedWords(string text, int? count)
    {
        // Every word the model writes is " word": a string value starts with a space.
        var words = text.Split(' ')[1..];
        Assert.StartsWith(" ", text, StringComparison.Ordinal);
        Assert.All(words, word => Assert.Contains(word, Serverless.Core.Models.Demo.DemoModelWriter.AllowedWords));
        if (count is { } expected)
        {
            Assert.Equal(expected, words.Length);
        }
    }

    private static string Compact(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private sealed record Run(List<int> Tokens, string Text)
    {
        public bool EndedWithEndOfText => Tokens.Count > 0 && Tokens[^1] == DemoModelFixture.EndOfText;

        /// <summary>The output ended by itself (end-of-text within the token budget) and is one JSON document.</summary>
        public JsonDocument ParseFinishedJson()
        {
            Assert.True(EndedWithEndOfText, $"no end-of-text within {MaxNewTokens} tokens: {Text}");
            return JsonDocument.Parse(Text);
        }
    }
}
