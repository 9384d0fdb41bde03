using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

public sealed class GenerationGateTests
{
    private static GenerationGate Gate(int running, int queued, TimeSpan? timeout = null) =>
        new(Options.Create(new InferenceOptions { MaxConcurrentGenerations = running, MaxQueuedRequests = queued, QueueTimeout = timeout ?? TimeSpan.FromSeconds(30), RetryAfterSeconds = 3 }));

    [Fact]
    public async Task Beyond_running_and_queued_requests_the_next_gets_429_with_retry_after()
    {
        using var gate = Gate(running: 1, queued: 1);
        using var first = await gate.EnterAsync(CancellationToken.None);
        var second = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.Equal(1, gate.Waiting);

        var error = await Assert.ThrowsAsync<ApiException>(() => gate.EnterAsync(CancellationToken.None).AsTask());
        Assert.Equal(429, error.Status);
        Assert.Equal(3, error.RetryAfterSeconds);

        first.Dispose();
        using var admitted = await second;
        Assert.Equal(1, gate.Running);
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task A_queued_request_that_waits_too_long_gets_429()
    {
        using var gate = Gate(running: 1, queued: 5, timeout: TimeSpan.FromMilliseconds(50));
        using var first = await gate.EnterAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<ApiException>(() => gate.EnterAsync(CancellationToken.None).AsTask());
        Assert.Equal(429, error.Status);
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task A_queued_request_whose_client_leaves_gives_up_its_place()
    {
        using var gate = Gate(running: 1, queued: 1);
        using var first = await gate.EnterAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = gate.EnterAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, gate.Waiting);
        Assert.Equal(1, gate.Running);
    }
}
