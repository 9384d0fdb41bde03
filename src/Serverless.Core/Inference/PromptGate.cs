using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// Bounds how many prompts are tokenized at once. Tokenizing a long prompt is seconds of CPU outside the generation
/// gate; unbounded, a burst of them takes every core from the generations already running.
/// </summary>
public sealed class PromptGate : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly InferenceOptions _options;

    public PromptGate(IOptions<InferenceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        Capacity = _options.MaxConcurrentTokenizations > 0 ? _options.MaxConcurrentTokenizations : Math.Max(1, Environment.ProcessorCount / 2);
        _slots = new SemaphoreSlim(Capacity, Capacity);
    }

    /// <summary>Prompts tokenized at once (Inference:MaxConcurrentTokenizations, or half the cores when 0).</summary>
    public int Capacity { get; }

    /// <summary>
    /// Tokenizes <paramref name="prompt"/> once a place is free. A live request waits at most Inference:QueueTimeout
    /// (then 429, as for a generation slot); a batch line (<paramref name="background"/>) waits as long as it takes.
    /// </summary>
    public async ValueTask<int[]> TokenizeAsync(PromptText prompt, LoadedModel model, bool background, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (background)
        {
            await _slots.WaitAsync(cancellationToken);
        }
        else if (!await _slots.WaitAsync(_options.QueueTimeout, cancellationToken))
        {
            throw ApiException.Overloaded(_options.RetryAfterSeconds);
        }

        try
        {
            return prompt.Tokenize(model);
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
