namespace Serverless.Core.Jobs;

/// <summary>
/// A fixed number of slots handed out by priority (lowest first) rather than by arrival. Batch lines use it so the
/// chunk that started first gets every slot it can use: chunks then finish one after another, and the next chunk's
/// activity is scheduled while the others still work, instead of all in-flight chunks finishing together and
/// leaving the slots idle while the orchestration schedules the next ones.
/// </summary>
internal sealed class OrderedSlots(int count)
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<TaskCompletionSource, (long, long)> _waiting = new();
    private long _arrivals;
    private int _free = count;

    /// <summary>Waits for a slot; among waiters, the lowest <paramref name="priority"/> goes first (ties in arrival order).</summary>
    public Task WaitAsync(long priority)
    {
        lock (_lock)
        {
            if (_free > 0)
            {
                _free--;
                return Task.CompletedTask;
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(waiter, (priority, _arrivals++));
            return waiter.Task;
        }
    }

    public void Release()
    {
        TaskCompletionSource? next;
        lock (_lock)
        {
            if (!_waiting.TryDequeue(out next, out _))
            {
                _free++;
                return;
            }
        }

        next.TrySetResult();
    }
}
