using Google.Protobuf;

namespace Serverless.Core.Models.Demo;

/// <summary>
/// Writes a tiny, safe stand-in for a real LLM: an int4 llama-style decoder with random weights and the
/// GPT-2 tokenizer that ONNX Runtime GenAI loads like any model-builder output, but that can only ever
/// emit words from <see cref="AllowedWords"/> (and end-of-text). Used for demos, tests and benchmarks.
/// </summary>
/// <remarks>
/// Greedy decoding never produces end-of-text, so it always runs to max_length; sampling produces it about
/// once every few hundred tokens (see <see cref="DemoDecoderGraph.EndOfTextMargin"/>). Under constrained
/// decoding (ONNX Runtime GenAI's guidance) it writes JSON and tool calls that end by themselves
/// (<see cref="DemoTokenPreferences"/>, <see cref="DemoJsonState"/>). The tokenizer is GPT-2's and encodes
/// exactly as Microsoft.ML.Tokenizers' TiktokenTokenizer for "gpt2".
/// </remarks>
public static class DemoModelWriter
{
    internal const string ModelFileName = "model.onnx";

    /// <summary>The words the model can emit; each is emitted as the single GPT-2 token " word".</summary>
    public static IReadOnlyList<string> AllowedWords => DemoAllowList.Words;

    /// <summary>
    /// Writes genai_config.json, model.onnx, tokenizer.json and tokenizer_config.json into
    /// <paramref name="directory"/> (created if missing, files overwritten). The same options always
    /// produce byte-identical files.
    /// </summary>
    public static void Write(string directory, DemoModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        options ??= new DemoModelOptions();
        options.Validate();

        var model = DemoDecoderGraph.Build(options, DemoAllowList.TokenIds(Gpt2Vocabulary.Instance));

        Directory.CreateDirectory(directory);
        using (var file = new FileStream(Path.Combine(directory, ModelFileName), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            model.WriteTo(file);
        }

        File.WriteAllBytes(Path.Combine(directory, "genai_config.json"), DemoGenAIConfig.Build(options));
        File.WriteAllBytes(Path.Combine(directory, "tokenizer.json"), DemoTokenizerFiles.GetTokenizerJson());
        File.WriteAllBytes(Path.Combine(directory, "tokenizer_config.json"), DemoTokenizerFiles.BuildTokenizerConfigJson(options.ContextLength));
    }
}
