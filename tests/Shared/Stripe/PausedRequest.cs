namespace Serverless.Testing.Stripe;

/// <summary>
/// A call held by <see cref="FakeStripeServer.PauseNext"/> just before it executes (for a meter event, while it holds
/// its customer-and-meter concurrency slot), so tests can overlap calls deterministically instead of sleeping.
/// </summary>
public sealed class PausedRequest
{
    private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal PausedRequest(StripeEndpoint endpoint) => Endpoint = endpoint;

    public StripeEndpoint Endpoint { get; }

    /// <summary>Completes when a call has reached the pause point and is waiting.</summary>
    public Task Arrived => _arrived.Task;

    /// <summary>Lets the held call go on (safe to call before it arrives, or twice).</summary>
    public void Release() => _released.TrySetResult();

    internal async Task WaitAsync(CancellationToken cancellationToken)
    {
        _arrived.TrySetResult();
        await _released.Task.WaitAsync(cancellationToken);
    }
}
