using System.Diagnostics;
using System.Text;
using Microsoft.ML.OnnxRuntimeGenAI;
using Serverless.Core.Inference;
using Serverless.Core.Models;

namespace Serverless.Benchmarks;

/// <summary>
/// The baseline: ONNX Runtime GenAI's generate loop called directly, in this process, with no service code.
/// It does the work the service must do per request (encode the prompt, a Generator, greedy search, a
/// streaming detokenizer that decodes every token) and nothing else.
/// </summary>
internal sealed class RawGenerator : IDisposable
{
    private readonly Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly int[] _eos;

    public RawGenerator(string modelFolder)
    {
        // One OgaHandle per process, shared with anything else in it that uses GenAI.
        GenAiRuntime.EnsureInitialized();
        using (var config = new Config(modelFolder))
        {
            // The service runs on the CPU provider; so does the baseline.
            config.ClearProviders();
            _model = new Model(config);
        }

        _tokenizer = new Tokenizer(_model);
        _eos = _tokenizer.GetEosTokenIds().ToArray();
    }

    public GenerationRun Generate(string prompt, int maxTokens)
    {
        var started = Stopwatch.GetTimestamp();
        int[] tokens;
        using (var sequences = _tokenizer.Encode(prompt))
        {
            tokens = sequences[0].ToArray();
        }

        using var parameters = new GeneratorParams(_model);
        parameters.SetSearchOption("max_length", tokens.Length + maxTokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new Generator(_model, parameters);
        generator.AppendTokens(tokens);
        using var decoder = _tokenizer.CreateStream();
        var text = new StringBuilder();
        int generated = 0;
        TimeSpan firstToken = default;
        while (generated < maxTokens && !generator.IsDone())
        {
            generator.GenerateNextToken();
            generated++;
            int token = generator.GetNextTokens()[0];
            if (Array.IndexOf(_eos, token) >= 0)
            {
                break;
            }

            text.Append(decoder.Decode(token));
            if (generated == 1)
            {
                firstToken = Stopwatch.GetElapsedTime(started);
            }
        }

        string result = text.ToString();
        return new GenerationRun(tokens.Length, generated, result, Stopwatch.GetElapsedTime(started), firstToken);
    }

    public void Dispose()
    {
        _tokenizer.Dispose();
        _model.Dispose();
    }
}
