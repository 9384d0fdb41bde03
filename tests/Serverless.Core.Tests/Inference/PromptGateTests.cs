using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

/// <summary>Tokenizing is bounded like generating: a burst of long prompts cannot take every core.</summary>
public sealed class PromptGateTests
{
    [Fact]
    public async Task A_live_prompt_beyond_the_bound_waits_at_most_the_queue_timeout_then_gets_429_and_a_batch_line_waits_its_turn()
    {
        using var gate = new PromptGate(Options.Create(new InferenceOptions { MaxConcurrentTokenizations = 1, QueueTimeout = TimeSpan.Zero }));
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var slow = new PromptText(10, "prompt", _ =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return [1, 2, 3];
        });
        var quick = new PromptText(1, "prompt", _ => [7]);

        var first = Task.Run(() => gate.TokenizeAsync(slow, null!, background: false, CancellationToken.None).AsTask());
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));

        var refused = await Assert.ThrowsAsync<ApiException>(() => gate.TokenizeAsync(quick, null!, background: false, CancellationToken.None).AsTask());
        Assert.Equal(429, refused.Status);

        var line = gate.TokenizeAsync(quick, null!, background: true, CancellationToken.None).AsTask();
        Assert.False(line.IsCompleted);
        release.Set();
        int[] slowTokens = await first;
        int[] lineTokens = await line;
        Assert.Equal(new[] { 1, 2, 3 }, slowTokens);
        Assert.Equal(new[] { 7 }, lineTokens);
    }

    [Fact]
    public void Zero_means_half_the_cores_and_at_least_one()
    {
        using var gate = new PromptGate(Options.Create(new InferenceOptions()));
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), gate.Capacity);
    }
}
