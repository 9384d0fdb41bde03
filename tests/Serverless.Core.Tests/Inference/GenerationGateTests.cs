using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Http;
using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

/// <summary>
/// The gate's scheduling, deterministically: no sleeps; a queued request is a pending task, a grant is decided under the
/// gate's lock when a slot is released (so which task completes is known when Dispose returns), time is a FakeTimeProvider.
/// </summary>
public sealed class GenerationGateTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();

    private GenerationGate Gate(int running, int queued, int? perCustomer = null, int? perKey = null, int? queuedPerCustomer = null) =>
        new(Options.Create(new InferenceOptions
        {
            MaxConcurrentGenerations = running,
            MaxQueuedRequests = queued,
            MaxConcurrentPerCustomer = perCustomer,
            MaxConcurrentPerKeyId = perKey,
            MaxQueuedPerCustomer = queuedPerCustomer,
            QueueTimeout = Timeout,
            RetryAfterSeconds = 3,
        }), _time);

    private static ApiCaller Caller(string customer, string key = "") => new(customer + "/key" + key, customer, [], []);

    private static async Task<GenerationGate.Slot> Granted(ValueTask<GenerationGate.Slot> entering) =>
        await entering.AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    private static Task<GenerationGate.Slot> Queued(ValueTask<GenerationGate.Slot> entering)
    {
        var task = entering.AsTask();
        Assert.False(task.IsCompleted, "expected the request to wait for a slot");
        return task;
    }

    private static async Task<ApiException> RefusedAsync(Func<Task> entering, string code)
    {
        var error = await Assert.ThrowsAsync<ApiException>(entering);
        Assert.Equal(429, error.Status);
        Assert.Equal(3, error.RetryAfterSeconds);
        Assert.Equal(code, error.Code);
        return error;
    }

    [Fact]
    public void Unset_caps_default_to_half_the_slots_per_customer_the_customer_cap_per_key_and_a_quarter_of_the_queue()
    {
        var defaults = new InferenceOptions();
        Assert.Equal(4, defaults.CustomerConcurrencyCap);
        Assert.Equal(4, defaults.KeyConcurrencyCap);
        Assert.Equal(16, defaults.CustomerQueueCap);

        var one = new InferenceOptions { MaxConcurrentGenerations = 1, MaxQueuedRequests = 5, MaxConcurrentPerCustomer = null };
        Assert.Equal(1, one.CustomerConcurrencyCap);
        Assert.Equal(2, one.CustomerQueueCap);
        Assert.Equal(2, new InferenceOptions { MaxConcurrentPerCustomer = 3, MaxConcurrentPerKeyId = 2 }.KeyConcurrencyCap);
    }

    [Fact]
    public async Task Beyond_running_and_queued_requests_the_next_gets_429_server_overloaded_with_retry_after()
    {
        var gate = Gate(running: 1, queued: 1, perCustomer: 1);
        using var first = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        var second = Queued(gate.EnterAsync(Caller("b"), CancellationToken.None));
        Assert.Equal(1, gate.Waiting);

        var error = await RefusedAsync(() => gate.EnterAsync(Caller("c"), CancellationToken.None).AsTask(), "server_overloaded");
        Assert.Equal("server_overloaded_error", error.Type);

        first.Dispose();
        using var admitted = await Granted(new ValueTask<GenerationGate.Slot>(second));
        Assert.Equal(1, gate.Running);
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task A_customer_runs_at_most_its_cap_while_slots_stay_free_for_others()
    {
        var gate = Gate(running: 4, queued: 8, perCustomer: 2);
        using var a1 = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        var a2 = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        var a3 = Queued(gate.EnterAsync(Caller("a"), CancellationToken.None));
        Assert.Equal(2, gate.RunningFor("a"));

        using var b1 = await gate.EnterAsync(Caller("b"), CancellationToken.None);
        using var b2 = await gate.EnterAsync(Caller("b"), CancellationToken.None);
        Assert.Equal(4, gate.Running);

        a2.Dispose();
        using var third = await Granted(new ValueTask<GenerationGate.Slot>(a3));
        Assert.Equal(2, gate.RunningFor("a"));
    }

    [Fact]
    public async Task A_key_runs_at_most_its_cap_and_another_key_of_the_same_customer_goes_past_its_waiting_request()
    {
        var gate = Gate(running: 8, queued: 8, perCustomer: 4, perKey: 1);
        var k1 = await gate.EnterAsync(Caller("a", "1"), CancellationToken.None);
        var k1Second = Queued(gate.EnterAsync(Caller("a", "1"), CancellationToken.None));
        using var k2 = await gate.EnterAsync(Caller("a", "2"), CancellationToken.None);
        Assert.Equal(2, gate.Running);

        // Held back by its own key's cap it times out with the key's error, not the instance's.
        _time.Advance(Timeout);
        var error = await RefusedAsync(() => k1Second, "concurrency_limit_exceeded");
        Assert.Contains("for this key", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, gate.Waiting);
        k1.Dispose();
        Assert.Equal(1, gate.Running);
    }

    [Fact]
    public async Task A_flooding_customer_beyond_its_queue_share_gets_concurrency_limit_exceeded_while_others_still_queue()
    {
        var gate = Gate(running: 2, queued: 8, perCustomer: 1, queuedPerCustomer: 2);
        using var running = await gate.EnterAsync(Caller("flood"), CancellationToken.None);
        var queued = new[] { Queued(gate.EnterAsync(Caller("flood"), CancellationToken.None)), Queued(gate.EnterAsync(Caller("flood"), CancellationToken.None)) };

        var error = await RefusedAsync(() => gate.EnterAsync(Caller("flood"), CancellationToken.None).AsTask(), "concurrency_limit_exceeded");
        Assert.Equal("requests", error.Type);
        Assert.Contains("Too many concurrent requests for this customer", error.Message, StringComparison.Ordinal);

        // The instance still has a slot, and other customers still have their queue share.
        using var other = await gate.EnterAsync(Caller("other"), CancellationToken.None);
        var otherQueued = Queued(gate.EnterAsync(Caller("third"), CancellationToken.None));
        Assert.Equal(3, gate.Waiting);
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        Assert.False(otherQueued.IsCompleted);
    }

    [Fact]
    public async Task A_customer_with_one_waiting_request_gets_the_next_free_slot_ahead_of_a_flooding_customers_queue()
    {
        // Caps as large as the instance: only the queue's order keeps the flood from taking every freed slot.
        var gate = Gate(running: 2, queued: 64, perCustomer: 2, queuedPerCustomer: 64);
        var floodRunning = new[] { await gate.EnterAsync(Caller("flood"), CancellationToken.None), await gate.EnterAsync(Caller("flood"), CancellationToken.None) };
        var floodQueued = Enumerable.Range(0, 50).Select(_ => Queued(gate.EnterAsync(Caller("flood"), CancellationToken.None))).ToList();
        var calm = Queued(gate.EnterAsync(Caller("calm"), CancellationToken.None));

        floodRunning[0].Dispose();
        using var calmSlot = await Granted(new ValueTask<GenerationGate.Slot>(calm));
        Assert.All(floodQueued, t => Assert.False(t.IsCompleted));

        // The flood's next one goes next, in arrival order.
        floodRunning[1].Dispose();
        using var floodFirst = await Granted(new ValueTask<GenerationGate.Slot>(floodQueued[0]));
        Assert.All(floodQueued.Skip(1), t => Assert.False(t.IsCompleted));
        Assert.Equal(49, gate.Waiting);
    }

    [Fact]
    public async Task Between_customers_running_as_many_the_one_served_longest_ago_gets_the_freed_slot()
    {
        var gate = Gate(running: 4, queued: 64, perCustomer: 4, queuedPerCustomer: 64);
        var x1 = await gate.EnterAsync(Caller("x"), CancellationToken.None);
        var x2 = await gate.EnterAsync(Caller("x"), CancellationToken.None);
        using var b1 = await gate.EnterAsync(Caller("b"), CancellationToken.None);
        using var a1 = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        var a = Enumerable.Range(0, 2).Select(_ => Queued(gate.EnterAsync(Caller("a"), CancellationToken.None))).ToList();
        var b = Enumerable.Range(0, 2).Select(_ => Queued(gate.EnterAsync(Caller("b"), CancellationToken.None))).ToList();

        // a and b run one each; a queued first, but b's slot is older: b goes first, then a (now running fewer).
        x1.Dispose();
        using var bSecond = await Granted(new ValueTask<GenerationGate.Slot>(b[0]));
        Assert.All(a, t => Assert.False(t.IsCompleted));
        x2.Dispose();
        using var aSecond = await Granted(new ValueTask<GenerationGate.Slot>(a[0]));
        Assert.False(a[1].IsCompleted);
        Assert.False(b[1].IsCompleted);
    }

    [Fact]
    public async Task A_queued_request_that_waits_too_long_for_a_full_instance_gets_429_server_overloaded()
    {
        var gate = Gate(running: 1, queued: 5);
        using var first = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        var waiting = Queued(gate.EnterAsync(Caller("b"), CancellationToken.None));

        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await RefusedAsync(() => waiting, "server_overloaded");
        Assert.Equal(0, gate.Waiting);
        Assert.Equal(1, gate.Running);
    }

    [Fact]
    public async Task A_queued_request_whose_client_leaves_gives_up_its_place_and_the_freed_slot_goes_to_the_next()
    {
        var gate = Gate(running: 1, queued: 2, perCustomer: 1, queuedPerCustomer: 2);
        var first = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var leaving = Queued(gate.EnterAsync(Caller("b"), cancel.Token));
        var staying = Queued(gate.EnterAsync(Caller("c"), CancellationToken.None));

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        Assert.Equal(1, gate.Waiting);
        Assert.Equal(1, gate.Running);
        Assert.False(staying.IsCompleted);

        first.Dispose();
        var next = await Granted(new ValueTask<GenerationGate.Slot>(staying));
        Assert.Equal(0, gate.RunningFor("b"));
        next.Dispose();
        next.Dispose();
        Assert.Equal(0, gate.Running);

        // Nothing leaked: the whole instance is free again for one customer's cap.
        using var again = await gate.EnterAsync(Caller("b"), CancellationToken.None);
        Assert.Equal(1, gate.Running);
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task A_cancelled_token_or_a_cancel_after_the_grant_leaks_nothing()
    {
        var gate = Gate(running: 1, queued: 2);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gate.EnterAsync(Caller("a"), new CancellationToken(canceled: true)).AsTask());
        Assert.Equal(0, gate.Running);

        var first = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = Queued(gate.EnterAsync(Caller("b"), cancel.Token));
        first.Dispose();
        var slot = await Granted(new ValueTask<GenerationGate.Slot>(waiting));
        await cancel.CancelAsync();
        Assert.Equal(1, gate.Running);
        slot.Dispose();
        Assert.Equal(0, gate.Running);
        Assert.Equal(0, gate.Waiting);
    }

    [Fact]
    public async Task Batch_lines_wait_past_the_queue_bound_and_the_timeout_without_429()
    {
        var gate = Gate(running: 1, queued: 0, queuedPerCustomer: 0);
        using var live = await gate.EnterAsync(Caller("a"), CancellationToken.None);
        var lines = Enumerable.Range(0, 3).Select(_ => Queued(gate.EnterBackgroundAsync(Caller("b"), CancellationToken.None))).ToList();
        Assert.Equal(3, gate.BackgroundWaiting);
        Assert.Equal(0, gate.Waiting);

        _time.Advance(Timeout * 10);
        Assert.All(lines, l => Assert.False(l.IsCompleted));
        Assert.Equal(3, gate.BackgroundWaiting);
    }

    [Fact]
    public async Task Batch_lines_count_against_their_customers_cap_and_live_requests_go_before_waiting_lines()
    {
        var gate = Gate(running: 3, queued: 8, perCustomer: 2);
        var lineSlots = new[] { await gate.EnterBackgroundAsync(Caller("batch"), CancellationToken.None), await gate.EnterBackgroundAsync(Caller("batch"), CancellationToken.None) };
        var lines = Enumerable.Range(0, 4).Select(_ => Queued(gate.EnterBackgroundAsync(Caller("batch"), CancellationToken.None))).ToList();

        // The batch's customer is at its cap: another customer's live request runs at once on the free slot.
        var other = await Granted(gate.EnterAsync(Caller("live"), CancellationToken.None));

        // The batch's own customer's live request waits behind its cap, but ahead of its own waiting lines.
        var ownLive = Queued(gate.EnterAsync(Caller("batch"), CancellationToken.None));
        lineSlots[0].Dispose();
        using var ownSlot = await Granted(new ValueTask<GenerationGate.Slot>(ownLive));
        Assert.All(lines, l => Assert.False(l.IsCompleted));

        // The instance is full; a waiting live request of another customer takes the next slot, the lines still wait.
        var otherSecond = Queued(gate.EnterAsync(Caller("live"), CancellationToken.None));
        other.Dispose();
        using var second = await Granted(new ValueTask<GenerationGate.Slot>(otherSecond));
        Assert.All(lines, l => Assert.False(l.IsCompleted));

        lineSlots[1].Dispose();
        using var firstLine = await Granted(new ValueTask<GenerationGate.Slot>(lines[0]));
        Assert.All(lines.Skip(1), l => Assert.False(l.IsCompleted));
    }
}
