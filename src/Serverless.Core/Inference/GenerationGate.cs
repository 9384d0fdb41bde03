using Microsoft.Extensions.Options;
using Serverless.Core.Http;

namespace Serverless.Core.Inference;

/// <summary>
/// Bounds generations per instance: a fixed number run, a bounded number wait, the rest get 429 at once.
/// Waiting in line is cheaper for a client than a retry, but an unbounded line only hides overload.
/// </summary>
public sealed class GenerationGate : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private readonly InferenceOptions _options;
    private int _waiting;

    public GenerationGate(IOptions<InferenceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _slots = new SemaphoreSlim(_options.MaxConcurrentGenerations, _options.MaxConcurrentGenerations);
    }

    public int Running => _options.MaxConcurrentGenerations - _slots.CurrentCount;

    public int Waiting => Volatile.Read(ref _waiting);

    public async ValueTask<Slot> EnterAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return new Slot(this);
        }

        if (Interlocked.Increment(ref _waiting) > _options.MaxQueuedRequests)
        {
            Interlocked.Decrement(ref _waiting);
            throw ApiException.Overloaded(_options.RetryAfterSeconds);
        }

        try
        {
            if (!await _slots.WaitAsync(_options.QueueTimeout, cancellationToken))
            {
                throw ApiException.Overloaded(_options.RetryAfterSeconds);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        return new Slot(this);
    }

    /// <summary>
    /// A slot for background work (batch lines): waits as long as it takes, never counts against the live queue and
    /// never answers "overloaded". Its callers bound how many of them wait.
    /// </summary>
    public async ValueTask<Slot> EnterBackgroundAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(this);
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>A held generation slot; disposing it (once, however often it is called) lets the next request in.</summary>
    public sealed class Slot(GenerationGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate._slots.Release();
            }
        }
    }
}
