using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;
using Microsoft.ML.Tokenizers;
using Onnx;
using Serverless.Core.Models.Demo;

namespace Serverless.Core.Tests.Models;

public sealed class DemoModelWriterTests : IDisposable
{
    private static readonly string[] Files = ["genai_config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "demo-writer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Same_seed_writes_identical_files_and_another_seed_other_weights()
    {
        var first = Write("first", new DemoModelOptions { Seed = 5 });
        var again = Write("again", new DemoModelOptions { Seed = 5 });
        var other = Write("other", new DemoModelOptions { Seed = 6 });

        foreach (var file in Files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, file)), File.ReadAllBytes(Path.Combine(again, file)));
        }

        Assert.NotEqual(File.ReadAllBytes(Path.Combine(first, "model.onnx")), File.ReadAllBytes(Path.Combine(other, "model.onnx")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "tokenizer.json")), File.ReadAllBytes(Path.Combine(other, "tokenizer.json")));
    }

    [Fact]
    public void Default_model_is_an_int4_llama_with_grouped_query_attention_of_about_15_MB()
    {
        var directory = Write("default", null);

        var size = new FileInfo(Path.Combine(directory, "model.onnx")).Length;
        Assert.InRange(size, 12_000_000, 18_000_000);

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(directory, "model.onnx")));
        var matMuls = model.Graph.Node.Where(n => n.OpType == "MatMulNBits").ToList();
        Assert.Equal((2 * 7) + 1, matMuls.Count); // q, k, v, o, gate, up, down per layer, plus lm_head
        Assert.All(matMuls, n =>
        {
            Assert.Equal("com.microsoft", n.Domain);
            Assert.Equal(4, n.Attribute.Single(a => a.Name == "bits").I);
            Assert.Equal(32, n.Attribute.Single(a => a.Name == "block_size").I);
        });
        // Two decoder layers with rotary, then the JSON-state layer, each with its own KV cache.
        var attention = model.Graph.Node.Where(n => n.OpType == "GroupQueryAttention").ToList();
        Assert.Equal([1L, 1L, 0L], attention.Select(n => n.Attribute.Single(a => a.Name == "do_rotary").I));
        Assert.Equal(
            Enumerable.Range(0, 3).Select(i => $"present.{i}.key"),
            attention.Select(n => n.Output[1]));

        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "genai_config.json")));
        var modelConfig = config.RootElement.GetProperty("model");
        Assert.Equal("llama", modelConfig.GetProperty("type").GetString());
        Assert.Equal(50257, modelConfig.GetProperty("vocab_size").GetInt32());
        Assert.Equal(50256, modelConfig.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(3, modelConfig.GetProperty("decoder").GetProperty("num_hidden_layers").GetInt32());
    }

    [Fact]
    public void Other_shapes_load_and_generate()
    {
        GenAIProcess.EnsureStarted();
        var directory = Write("small", new DemoModelOptions { Seed = 1, Layers = 1, Hidden = 32, Heads = 2, KvHeads = 1, ContextLength = 128 });

        using var model = new Model(directory);
        using var options = new GeneratorParams(model);
        options.SetSearchOption("max_length", 64);
        using var generator = new Generator(model, options);
        generator.AppendTokens([464, 3797]);
        var count = 0;
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            count++;
        }

        Assert.Equal(62, count);

        // The JSON-state layer works at this shape too (two heads, one kv head): a string ends after three words.
        using var guidedOptions = new GeneratorParams(model);
        guidedOptions.SetSearchOption("max_length", 64);
        guidedOptions.SetGuidance("json_schema", """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""");
        using var guided = new Generator(model, guidedOptions);
        guided.AppendTokens([464, 3797]);
        while (!guided.IsDone())
        {
            guided.GenerateNextToken();
        }

        using var tokenizer = new Microsoft.ML.OnnxRuntimeGenAI.Tokenizer(model);
        using var json = JsonDocument.Parse(tokenizer.Decode(guided.GetSequence(0)[2..]));
        Assert.Equal(3, json.RootElement.GetProperty("city").GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Allowed_words_are_a_few_hundred_distinct_single_gpt2_tokens()
    {
        var tiktoken = TiktokenTokenizer.CreateForModel("gpt2");

        Assert.InRange(DemoModelWriter.AllowedWords.Count, 200, 1000);
        Assert.Equal(DemoModelWriter.AllowedWords.Count, DemoModelWriter.AllowedWords.Distinct(StringComparer.Ordinal).Count());
        Assert.All(DemoModelWriter.AllowedWords, word =>
        {
            Assert.Matches("^[a-z]+$", word);
            Assert.Single(tiktoken.EncodeToIds(" " + word));
        });
    }

    [Theory]
    [InlineData(0, 64, 4, 2, 2048)]
    [InlineData(2, 48, 4, 2, 2048)]
    [InlineData(2, 64, 3, 1, 2048)]
    [InlineData(2, 64, 4, 3, 2048)]
    [InlineData(2, 64, 4, 2, 4)]
    [InlineData(1, 32, 16, 16, 2048)] // heads of 2: too narrow for the JSON-state layer
    public void Invalid_shapes_are_rejected(int layers, int hidden, int heads, int kvHeads, int contextLength)
    {
        var options = new DemoModelOptions { Layers = layers, Hidden = hidden, Heads = heads, KvHeads = kvHeads, ContextLength = contextLength };

        Assert.Throws<ArgumentException>(() => DemoModelWriter.Write(Path.Combine(_root, "invalid"), options));
        Assert.False(Directory.Exists(Path.Combine(_root, "invalid")));
    }

    private string Write(string name, DemoModelOptions? options)
    {
        var directory = Path.Combine(_root, name);
        DemoModelWriter.Write(directory, options);
        Assert.All(Files, file => Assert.True(File.Exists(Path.Combine(directory, file)), file));
        return directory;
    }
}
