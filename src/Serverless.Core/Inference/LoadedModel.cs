using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace Serverless.Core.Inference;

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
    }

    public string Id { get; }

    public string Folder { get; }

    public Model Model { get; }

    public Tokenizer Tokenizer { get; }

    /// <summary>Maximum prompt plus completion tokens, from genai_config.json.</summary>
    public int ContextLength { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    public string? ChatTemplate { get; }

    public int VocabSize { get; }

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
