using Serverless.Core.Inference;

namespace Serverless.Core.Tests.Inference;

public sealed class StopSequenceMatcherTests
{
    private static (string Text, bool Stopped) Run(string[] stops, params string[] pieces)
    {
        var matcher = new StopSequenceMatcher(stops);
        var output = string.Empty;
        foreach (var piece in pieces)
        {
            output += matcher.Push(piece);
            if (matcher.Stopped)
            {
                return (output, true);
            }
        }

        return (output + matcher.Flush(), false);
    }

    [Fact]
    public void Without_stop_sequences_every_piece_passes_through_at_once()
    {
        var matcher = new StopSequenceMatcher([]);
        Assert.Equal(" the", matcher.Push(" the"));
        Assert.Equal(" cat", matcher.Push(" cat"));
    }

    [Fact]
    public void Stop_text_split_across_pieces_is_found_and_not_returned()
    {
        var (text, stopped) = Run(["END"], " once", " upon E", "N", "D after");
        Assert.True(stopped);
        Assert.Equal(" once upon ", text);
    }

    [Fact]
    public void Text_that_only_looks_like_a_stop_prefix_is_released_when_it_diverges()
    {
        var matcher = new StopSequenceMatcher(["\n\n"]);
        Assert.Equal("a", matcher.Push("a\n"));
        Assert.Equal("\nb", matcher.Push("b"));
        Assert.False(matcher.Stopped);
    }

    [Fact]
    public void Held_back_text_is_flushed_when_generation_ends_without_a_stop()
    {
        var (text, stopped) = Run(["the end"], "it was the", " en");
        Assert.False(stopped);
        Assert.Equal("it was the en", text);
    }

    [Fact]
    public void The_earliest_of_several_stop_sequences_wins()
    {
        var (text, stopped) = Run(["dog", "cat"], "a cat and a dog");
        Assert.True(stopped);
        Assert.Equal("a ", text);
    }

    [Fact]
    public void Nothing_is_emitted_after_a_stop()
    {
        var matcher = new StopSequenceMatcher(["x"]);
        Assert.Equal("a", matcher.Push("axb"));
        Assert.True(matcher.Stopped);
        Assert.Equal(string.Empty, matcher.Push("more"));
        Assert.Equal(string.Empty, matcher.Flush());
    }
}
