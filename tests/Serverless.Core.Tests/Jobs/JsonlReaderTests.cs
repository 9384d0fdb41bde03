using System.Text;
using Serverless.Core.Jobs;

namespace Serverless.Core.Tests.Jobs;

public sealed class JsonlReaderTests
{
    private static async Task<List<JsonlLine>> ReadAsync(string text, int maxLineBytes = 1024, int chunk = 7)
    {
        // A stream that hands out a few bytes at a time, so lines span reads.
        using var stream = new TrickleStream(Encoding.UTF8.GetBytes(text), chunk);
        var lines = new List<JsonlLine>();
        await foreach (var line in JsonlReader.ReadAsync(stream, maxLineBytes))
        {
            lines.Add(line);
        }

        return lines;
    }

    private static string Text(JsonlLine line) => Encoding.UTF8.GetString(line.Bytes!);

    [Fact]
    public async Task Lines_are_split_on_newlines_across_reads_with_crlf_and_a_last_line_without_newline()
    {
        var lines = await ReadAsync("{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}");
        Assert.Equal(["{\"a\":1}", "", "  ", "{\"b\":2}", "{\"c\":3}"], lines.Select(Text));
        Assert.Equal([1L, 2, 3, 4, 5], lines.Select(l => l.Number));
        Assert.Equal([false, true, true, false, false], lines.Select(l => l.IsBlank));
    }

    [Fact]
    public async Task A_line_over_the_limit_is_reported_without_its_bytes_and_the_next_line_is_read_whole()
    {
        string longLine = new('x', 100);
        var lines = await ReadAsync($"{{\"a\":1}}\n{longLine}\n{{\"b\":2}}\n{longLine}", maxLineBytes: 20, chunk: 16);
        Assert.Equal(4, lines.Count);
        Assert.Equal("{\"a\":1}", Text(lines[0]));
        Assert.True(lines[1].TooLong);
        Assert.Equal("{\"b\":2}", Text(lines[2]));
        Assert.True(lines[3].TooLong);
        Assert.Equal([1L, 2, 3, 4], lines.Select(l => l.Number));
    }

    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
