using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Serverless.Core.Jobs;

/// <summary>One line of a JSONL stream: its 1-based number and its bytes, or no bytes when it was longer than allowed.</summary>
public readonly record struct JsonlLine(long Number, byte[]? Bytes)
{
    public bool TooLong => Bytes is null;

    public bool IsBlank => Bytes is { } bytes && bytes.AsSpan().Trim(" \t\r"u8).IsEmpty;
}

/// <summary>
/// One line of a JSONL stream read in place: its 1-based number and its bytes (without the line end) in the reader's
/// buffer, which stay valid only until the enumerator moves on. <see cref="TooLong"/> when it was longer than allowed.
/// </summary>
public readonly record struct JsonlSlice(long Number, ReadOnlySequence<byte> Bytes, bool TooLong)
{
    public bool IsBlank
    {
        get
        {
            if (TooLong)
            {
                return false;
            }

            foreach (var segment in Bytes)
            {
                if (!segment.Span.Trim(" \t\r"u8).IsEmpty)
                {
                    return false;
                }
            }

            return true;
        }
    }
}

/// <summary>
/// Reads a stream line by line without holding more than one line (up to a limit) in memory, so a 100 MB input file,
/// or one enormous line, costs a bounded buffer.
/// </summary>
public static class JsonlReader
{
    /// <summary>The lines as arrays (one copy each): for the service's own bounded lines.</summary>
    public static async IAsyncEnumerable<JsonlLine> ReadAsync(Stream stream, int maxLineBytes, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var line in ReadSlicesAsync(stream, maxLineBytes, cancellationToken))
        {
            yield return new JsonlLine(line.Number, line.TooLong ? null : line.Bytes.ToArray());
        }
    }

    /// <summary>
    /// The lines in place, without copying them: each slice is valid until the next <c>MoveNextAsync</c>. A line over
    /// <paramref name="maxLineBytes"/> is dropped as it streams past and reported as <see cref="JsonlSlice.TooLong"/>.
    /// </summary>
    public static async IAsyncEnumerable<JsonlSlice> ReadSlicesAsync(Stream stream, int maxLineBytes, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        long number = 0;
        bool skipping = false;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = buffer.Slice(0, end);
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    number++;
                    if (skipping || line.Length > maxLineBytes)
                    {
                        skipping = false;
                        yield return new JsonlSlice(number, default, TooLong: true);
                    }
                    else
                    {
                        yield return new JsonlSlice(number, TrimCarriageReturn(line), TooLong: false);
                    }
                }

                if (result.IsCompleted)
                {
                    if (skipping || buffer.Length > maxLineBytes)
                    {
                        yield return new JsonlSlice(number + 1, default, TooLong: true);
                    }
                    else if (buffer.Length > 0)
                    {
                        yield return new JsonlSlice(number + 1, TrimCarriageReturn(buffer), TooLong: false);
                    }

                    break;
                }

                if (skipping || buffer.Length > maxLineBytes)
                {
                    // Past the limit without a line end: drop what there is and report the line when it ends.
                    skipping = true;
                    reader.AdvanceTo(buffer.End);
                }
                else
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static ReadOnlySequence<byte> TrimCarriageReturn(ReadOnlySequence<byte> line)
    {
        if (line.IsEmpty)
        {
            return line;
        }

        Span<byte> last = stackalloc byte[1];
        line.Slice(line.Length - 1).CopyTo(last);
        return last[0] == (byte)'\r' ? line.Slice(0, line.Length - 1) : line;
    }
}
