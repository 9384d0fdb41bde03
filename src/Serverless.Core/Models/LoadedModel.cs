using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Serverless.Core.Models;

/// <summary>
/// A model loaded into this instance: one ONNX Runtime GenAI Model and Tokenizer shared by every request;
/// each request creates its own Generator over them.
/// </summary>
public sealed class LoadedModel : IDisposable
{
    private LoadedModel(string id, string folder, Model model, Tokenizer tokenizer, int contextLength, int[] eosTokenIds, string? chatTemplate, int vocabSize)
    {
        Id = id;
        Folder = folder;
        Model = model;
        Tokenizer = tokenizer;
        ContextLength = contextLength;
        EosTokenIds = eosTokenIds;
        ChatTemplate = chatTemplate;
        VocabSize = vocabSize;
        _maxPromptCharacters = new Lazy<long>(() => LongestTokenText(Path.Combine(folder, "tokenizer.json")) is int longest
            ? (long)contextLength * longest
            : long.MaxValue);
    }

    private readonly Lazy<long> _maxPromptCharacters;

    public string Id { get; }

    public string Folder { get; }

    public Model Model { get; }

    public Tokenizer Tokenizer { get; }

    /// <summary>Maximum prompt plus completion tokens, from genai_config.json.</summary>
    public int ContextLength { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    public string? ChatTemplate { get; }

    public int VocabSize { get; }

    /// <summary>
    /// More characters than this cannot fit the context whatever they say: the context length times the most
    /// characters one token can stand for (<see cref="LongestTokenText"/>). Read from the tokenizer file on first use;
    /// <see cref="long.MaxValue"/> when the file cannot tell.
    /// </summary>
    public long MaxPromptCharacters => _maxPromptCharacters.Value;

    /// <summary>
    /// The most characters of input one token can cover, by tokenizer.json: its longest vocabulary entry or added
    /// token. Entries spell bytes (byte-level BPE), pieces (SentencePiece's ▁ for a space, &lt;0xNN&gt; for a byte) or
    /// word parts (WordPiece's ##), never fewer characters than the input they match, so this never refuses a
    /// prompt that fits. A normalizer may fold several input characters into one (composing a Hangul syllable from
    /// three jamo), so with one the bound is four times as wide. Null when the file is missing or has no vocabulary.
    /// </summary>
    internal static int? LongestTokenText(string tokenizerJson)
    {
        if (!File.Exists(tokenizerJson))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
        var root = document.RootElement;
        int longest = 0;
        if (root.TryGetProperty("model", out var tokenizerModel) && tokenizerModel.TryGetProperty("vocab", out var vocab))
        {
            if (vocab.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in vocab.EnumerateObject())
                {
                    longest = Math.Max(longest, entry.Name.Length);
                }
            }
            else if (vocab.ValueKind == JsonValueKind.Array)
            {
                // Unigram: [["piece", score], ...]
                foreach (var entry in vocab.EnumerateArray())
                {
                    if (entry.ValueKind == JsonValueKind.Array && entry.GetArrayLength() > 0 && entry[0].ValueKind == JsonValueKind.String)
                    {
                        longest = Math.Max(longest, entry[0].GetString()!.Length);
                    }
                }
            }
        }

        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                if (token.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                {
                    longest = Math.Max(longest, content.GetString()!.Length);
                }
            }
        }

        if (longest == 0)
        {
            return null;
        }

        bool normalizes = root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null;
        return normalizes ? longest * 4 : longest;
    }

    /// <summary>Loads a GenAI model folder (genai_config.json, model.onnx, tokenizer files) on the CPU.</summary>
    public static LoadedModel Load(string id, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        using var configJson = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "genai_config.json")));
        var modelSection = configJson.RootElement.GetProperty("model");
        int contextLength = modelSection.TryGetProperty("context_length", out var ctx) ? ctx.GetInt32() : 2048;
        int vocabSize = modelSection.TryGetProperty("vocab_size", out var vocab) ? vocab.GetInt32() : int.MaxValue;

        Model? model = null;
        Tokenizer? tokenizer = null;
        try
        {
            using (var config = new Config(folder))
            {
                config.ClearProviders();
                model = new Model(config);
            }

            tokenizer = new Tokenizer(model);
            int[] eos = tokenizer.GetEosTokenIds().ToArray();
            return new LoadedModel(id, folder, model, tokenizer, contextLength, eos, ReadChatTemplate(folder), vocabSize);
        }
        catch
        {
            tokenizer?.Dispose();
            model?.Dispose();
            throw;
        }
    }

    public bool IsEos(int token)
    {
        foreach (int eos in EosTokenIds)
        {
            if (eos == token)
            {
                return true;
            }
        }

        return false;
    }

    public int[] Encode(string text)
    {
        using var sequences = Tokenizer.Encode(text);
        return sequences[0].ToArray();
    }

    public void Dispose()
    {
        Tokenizer.Dispose();
        Model.Dispose();
    }

    private static string? ReadChatTemplate(string folder)
    {
        string path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String
            ? template.GetString()
            : null;
    }
}
