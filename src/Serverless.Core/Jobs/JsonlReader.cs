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
/// Reads a stream line by line without holding more than one line (up to a limit) in memory, so a 100 MB input file,
/// or one enormous line, costs a bounded buffer.
/// </summary>
public static class JsonlReader
{
    public static async IAsyncEnumerable<JsonlLine> ReadAsync(Stream stream, int maxLineBytes, [EnumeratorCancellation] CancellationToken cancellationToken = default)
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
                        yield return new JsonlLine(number, null);
                    }
                    else
                    {
                        yield return new JsonlLine(number, TrimCarriageReturn(line));
                    }
                }

                if (result.IsCompleted)
                {
                    if (skipping || buffer.Length > maxLineBytes)
                    {
                        yield return new JsonlLine(number + 1, null);
                    }
                    else if (buffer.Length > 0)
                    {
                        yield return new JsonlLine(number + 1, TrimCarriageReturn(buffer));
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

    private static byte[] TrimCarriageReturn(ReadOnlySequence<byte> line)
    {
        var bytes = line.ToArray();
        return bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes[..^1] : bytes;
    }
}
