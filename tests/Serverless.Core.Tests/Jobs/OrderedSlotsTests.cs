using Serverless.Core.Jobs;

namespace Serverless.Core.Tests.Jobs;

public sealed class OrderedSlotsTests
{
    [Fact]
    public async Task Freed_slots_go_to_the_lowest_priority_waiter_first_and_ties_in_arrival_order()
    {
        var slots = new OrderedSlots(1);
        await slots.WaitAsync(5);
        var later = slots.WaitAsync(3);
        var first = slots.WaitAsync(1);
        var second = slots.WaitAsync(3);
        Assert.False(first.IsCompleted || later.IsCompleted || second.IsCompleted);

        slots.Release();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(later.IsCompleted);

        slots.Release();
        await later.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(second.IsCompleted);

        slots.Release();
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        slots.Release();
        Assert.True(slots.WaitAsync(9).IsCompleted);
    }
}
