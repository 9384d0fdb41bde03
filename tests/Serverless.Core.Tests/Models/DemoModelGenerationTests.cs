using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Serverless.Core.Tests.Models;

[Collection(DemoModelCollection.Name)]
public sealed class DemoModelGenerationTests(DemoModelFixture fixture)
{
    private const int Vocabulary = 50257;

    [Fact]
    public void Greedy_generation_runs_to_max_length_using_only_allowed_words()
    {
        var prompt = fixture.Encode("Tell me a story about the sea.");

        var generated = Generate(prompt, newTokens: 200);

        // End-of-text always sits below the best word, so greedy decoding never stops early.
        Assert.Equal(200, generated.Count);
        Assert.All(generated, token => Assert.Contains(token, fixture.AllowedTokenIds));
    }

    [Theory]
    [InlineData(1.5, 50, 0.95)]
    [InlineData(2.0, Vocabulary, 1.0)] // no top-k/top-p help: only the logit mask keeps other tokens out
    public void Sampling_emits_only_allowed_words_or_end_of_text(double temperature, int topK, double topP)
    {
        var prompt = fixture.Encode("Once upon a time, in a land far away,");

        for (var seed = 1; seed <= 4; seed++)
        {
            var generated = Generate(prompt, newTokens: 80, options =>
            {
                options.SetSearchOption("do_sample", true);
                options.SetSearchOption("temperature", temperature);
                options.SetSearchOption("top_k", topK);
                options.SetSearchOption("top_p", topP);
                options.SetSearchOption("random_seed", seed);
            });

            Assert.NotEmpty(generated);
            Assert.All(generated, token => Assert.True(
                token == DemoModelFixture.EndOfText || fixture.AllowedTokenIds.Contains(token),
                $"seed {seed} emitted token {token}, which is not on the allow-list"));
        }
    }

    [Fact]
    public void Sampling_is_reproducible_for_a_seed_and_varies_across_seeds()
    {
        var prompt = fixture.Encode("The garden");
        List<int> Sample(int seed) => Generate(prompt, newTokens: 40, options =>
        {
            options.SetSearchOption("do_sample", true);
            options.SetSearchOption("top_k", 50);
            options.SetSearchOption("random_seed", seed);
        });

        Assert.Equal(Sample(7), Sample(7));
        Assert.NotEqual(Sample(7), Sample(8));
    }

    [Fact]
    public void Decoding_token_by_token_with_the_kv_cache_matches_a_full_prefill()
    {
        var prompt = fixture.Encode("The quick brown fox jumps over the lazy dog");
        var generated = Generate(prompt, newTokens: 20);

        // One prefill over prompt + output: the argmax at each position must be the token decoded there.
        using (var options = NewOptions(prompt.Length + generated.Count + 1))
        using (var generator = new Generator(fixture.Model, options))
        {
            generator.AppendTokens([.. prompt, .. generated]);
            using var logits = generator.GetOutput("logits");
            var shape = logits.Shape();
            Assert.Equal([1, prompt.Length + generated.Count, Vocabulary], shape);
            var data = logits.GetData<float>();
            for (var i = 0; i < generated.Count; i++)
            {
                var row = data.Slice((prompt.Length - 1 + i) * Vocabulary, Vocabulary);
                Assert.Equal(generated[i], ArgMax(row));
            }
        }

        // And restarting from any prefix continues with the same token.
        foreach (var k in new[] { 1, 7, 19 })
        {
            using var options = NewOptions(prompt.Length + generated.Count);
            using var generator = new Generator(fixture.Model, options);
            generator.AppendTokens([.. prompt, .. generated.Take(k)]);
            generator.GenerateNextToken();
            Assert.Equal(generated[k], generator.GetNextTokens()[0]);
        }
    }

    [Fact]
    public void Chat_template_from_tokenizer_config_formats_the_conversation()
    {
        var messages = JsonSerializer.Serialize(new[]
        {
            new { role = "system", content = "You are terse." },
            new { role = "user", content = "Tell me about rivers, café & 日本." },
        });

        var fromConfig = fixture.Tokenizer.ApplyChatTemplate(null, messages, null, true);

        Assert.Equal("<|system|>\nYou are terse.<|end|>\n<|user|>\nTell me about rivers, café & 日本.<|end|>\n<|assistant|>\n", fromConfig);
        var template = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Directory, "tokenizer_config.json")))
            .RootElement.GetProperty("chat_template").GetString();
        Assert.Equal(fromConfig, fixture.Tokenizer.ApplyChatTemplate(template, messages, null, true));
        Assert.EndsWith("<|end|>\n", fixture.Tokenizer.ApplyChatTemplate(null, messages, null, false), StringComparison.Ordinal);
    }

    private List<int> Generate(int[] prompt, int newTokens, Action<GeneratorParams>? configure = null)
    {
        using var options = NewOptions(prompt.Length + newTokens);
        configure?.Invoke(options);
        using var generator = new Generator(fixture.Model, options);
        generator.AppendTokens(prompt);
        var generated = new List<int>(newTokens);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            generated.Add(generator.GetNextTokens()[0]);
        }

        return generated;
    }

    private GeneratorParams NewOptions(int maxLength)
    {
        var options = new GeneratorParams(fixture.Model);
        options.SetSearchOption("max_length", maxLength);
        return options;
    }

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
}
