using System.Diagnostics;
using Microsoft.ML.OnnxRuntimeGenAI;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// One request's generation: a GenAI Generator over the shared model, pulled one text piece at a time.
/// This is the hot path: per token it does one GenerateNextToken, one span read and one decode, and
/// it never waits on I/O, so callers decide whether pieces go to a buffer or to the wire.
/// </summary>
public sealed class TextGeneration : IDisposable
{
    private readonly LoadedModel _model;
    private readonly GeneratorParams _parameters;
    private readonly Generator _generator;
    private readonly TokenizerStream _decoder;
    private readonly StopSequenceMatcher _stops;
    private readonly int _maxTokens;
    private bool _done;

    public TextGeneration(LoadedModel model, ReadOnlySpan<int> prompt, SamplingSettings sampling, IReadOnlyList<string> stops, Guidance? guidance = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampling);
        _model = model;
        _maxTokens = sampling.MaxTokens;
        PromptTokens = prompt.Length;
        _stops = new StopSequenceMatcher(stops);
        _parameters = new GeneratorParams(model.Model);
        try
        {
            _parameters.SetSearchOption("max_length", prompt.Length + sampling.MaxTokens);
            if (sampling.Greedy)
            {
                _parameters.SetSearchOption("do_sample", false);
            }
            else
            {
                _parameters.SetSearchOption("do_sample", true);
                _parameters.SetSearchOption("temperature", sampling.Temperature ?? 1.0);
                if (sampling.TopP is double topP)
                {
                    _parameters.SetSearchOption("top_p", topP);
                }

                if (sampling.TopK is int topK)
                {
                    _parameters.SetSearchOption("top_k", topK == 0 ? model.VocabSize : topK);
                }

                if (sampling.Seed is long seed)
                {
                    // GenAI takes a 32-bit seed; fold the 64-bit one so different seeds stay different.
                    _parameters.SetSearchOption("random_seed", (int)((seed ^ (seed >> 32)) & int.MaxValue));
                }
            }

            _generator = CreateGenerator(model, _parameters, guidance);
            _generator.AppendTokens(prompt);
            _decoder = model.Tokenizer.CreateStream();
        }
        catch
        {
            _generator?.Dispose();
            _parameters.Dispose();
            throw;
        }
    }

    public int PromptTokens { get; }

    // The grammar is compiled here; one llguidance refuses (a schema feature the request check let through) is the
    // client's input, not a server error.
    private static Generator CreateGenerator(LoadedModel model, GeneratorParams parameters, Guidance? guidance)
    {
        try
        {
            if (guidance is not null)
            {
                parameters.SetGuidance(guidance.Type, guidance.Data);
            }

            return new Generator(model.Model, parameters);
        }
        catch (OnnxRuntimeGenAIException ex) when (guidance is not null)
        {
            throw Http.ApiException.BadRequest(
                $"The requested output format could not be compiled for constrained decoding: {ex.Message}", guidance.Type == "json_schema" ? "response_format" : "tools", "unsupported_schema");
        }
    }

    /// <summary>Tokens the generator produced (including an end-of-text token): what the request is billed for.</summary>
    public int CompletionTokens { get; private set; }

    public FinishReason FinishReason { get; private set; } = FinishReason.Stop;

    /// <summary>When the first token was generated (a <see cref="Stopwatch"/> timestamp); 0 before that.</summary>
    public long FirstTokenAt { get; private set; }

    public bool IsDone => _done;

    /// <summary>
    /// Generates until there is text to emit or generation ends. Returns false when done and nothing is left.
    /// </summary>
    public bool TryReadNext(CancellationToken cancellationToken, out string piece)
    {
        while (!_done)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                FinishReason = FinishReason.Cancelled;
                _done = true;
                break;
            }

            if (CompletionTokens >= _maxTokens || _generator.IsDone())
            {
                FinishReason = CompletionTokens >= _maxTokens ? FinishReason.Length : FinishReason.Stop;
                _done = true;
                piece = _stops.Flush();
                return piece.Length > 0;
            }

            _generator.GenerateNextToken();
            if (++CompletionTokens == 1)
            {
                FirstTokenAt = Stopwatch.GetTimestamp();
            }
            int token = _generator.GetNextTokens()[0];
            if (_model.IsEos(token))
            {
                FinishReason = FinishReason.Stop;
                _done = true;
                piece = _stops.Flush();
                return piece.Length > 0;
            }

            piece = _stops.Push(_decoder.Decode(token));
            if (_stops.Stopped)
            {
                FinishReason = FinishReason.Stop;
                _done = true;
                return piece.Length > 0;
            }

            if (piece.Length > 0)
            {
                return true;
            }
        }

        piece = string.Empty;
        return false;
    }

    /// <summary>The response could not be delivered (the client went away): stop and count it as cancelled.</summary>
    public void Abandon()
    {
        FinishReason = FinishReason.Cancelled;
        _done = true;
    }

    public void Dispose()
    {
        _decoder.Dispose();
        _generator.Dispose();
        _parameters.Dispose();
    }
}
