using Microsoft.ML.OnnxRuntimeGenAI;
using Microsoft.ML.Tokenizers;
using Serverless.Core.Models.Demo;

namespace Serverless.Core.Tests.Models;

/// <summary>Writes the default demo model once per test class and loads it with ONNX Runtime GenAI.</summary>
public sealed class DemoModelFixture : IDisposable
{
    public const int EndOfText = 50256;

    public DemoModelFixture()
    {
        GenAIProcess.EnsureStarted();
        Directory = Path.Combine(Path.GetTempPath(), "demo-model-" + Guid.NewGuid().ToString("N"));
        DemoModelWriter.Write(Directory);
        Model = new Model(Directory);
        Tokenizer = new Microsoft.ML.OnnxRuntimeGenAI.Tokenizer(Model);

        // Computed with Microsoft.ML.Tokenizers, independently of the writer's own vocabulary code.
        Tiktoken = TiktokenTokenizer.CreateForModel("gpt2");
        AllowedTokenIds = DemoModelWriter.AllowedWords.Select(word => Tiktoken.EncodeToIds(" " + word).Single()).ToHashSet();
    }

    public string Directory { get; }

    public Model Model { get; }

    public Microsoft.ML.OnnxRuntimeGenAI.Tokenizer Tokenizer { get; }

    public TiktokenTokenizer Tiktoken { get; }

    public IReadOnlySet<int> AllowedTokenIds { get; }

    public int[] Encode(string text) => Tiktoken.EncodeToIds(text).ToArray();

    public void Dispose()
    {
        Tokenizer.Dispose();
        Model.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
