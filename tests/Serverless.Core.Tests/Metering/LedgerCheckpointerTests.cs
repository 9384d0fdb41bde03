using Serverless.Core.Metering;

namespace Serverless.Core.Tests.Metering;

public sealed class LedgerCheckpointerTests
{
    [Fact]
    public void A_checkpoint_is_due_once_the_writer_has_written_enough_pages_however_busy_it_is()
    {
        Assert.True(LedgerCheckpointer.IsDue(LedgerCheckpointer.CheckpointPages, TimeSpan.Zero));
        Assert.False(LedgerCheckpointer.IsDue(LedgerCheckpointer.CheckpointPages - 1, TimeSpan.Zero));
    }

    [Fact]
    public void A_few_pages_wait_until_the_writer_has_been_idle()
    {
        Assert.False(LedgerCheckpointer.IsDue(12, LedgerCheckpointer.IdleAfter - TimeSpan.FromMilliseconds(1)));
        Assert.True(LedgerCheckpointer.IsDue(12, LedgerCheckpointer.IdleAfter));
    }

    [Fact]
    public void Nothing_written_means_nothing_to_checkpoint()
    {
        Assert.False(LedgerCheckpointer.IsDue(0, TimeSpan.FromHours(1)));
    }
}
