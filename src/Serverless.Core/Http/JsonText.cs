using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Serverless.Core.Http;

/// <summary>
/// JSON that parses can still hold text that is no string: bytes that are not UTF-8, or an escape of half a surrogate
/// pair (<c>"\ud800"</c>). System.Text.Json accepts both while parsing and throws only when such a string is read,
/// deep inside whatever reads it. Checked once where JSON comes in (request bodies, batch lines, webhooks), so every
/// reader after that can trust its strings.
/// </summary>
public static class JsonText
{
    private const string NotUtf8 = "the text is not valid UTF-8";
    private const string HalfPair = "a string holds an escape that is not valid UTF-16 (half a surrogate pair, such as \\ud800)";
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 256 };
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>JSON written with a <see cref="Utf8JsonWriter"/>, as a string.</summary>
    /// <param name="write">What to write.</param>
    /// <param name="encoder">How to escape text (the writer's default escapes HTML-sensitive and non-ASCII characters).</param>
    public static string Write(Action<Utf8JsonWriter> write, System.Text.Encodings.Web.JavaScriptEncoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(write);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = encoder }))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>What is wrong with the text of <paramref name="json"/> (already known to parse), or null when nothing is.</summary>
    public static string? FindInvalid(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return NotUtf8;
        }

        // Only a \u escape can name half a surrogate pair: most bodies have none and need no second read.
        if (json.IndexOf("\\u"u8) < 0)
        {
            return null;
        }

        var reader = new Utf8JsonReader(json, ReaderOptions);
        return FindHalfPair(ref reader);
    }

    /// <summary>The same for text in several buffers (a line of a file read in blocks), without copying it.</summary>
    public static string? FindInvalid(in ReadOnlySequence<byte> json)
    {
        if (json.IsSingleSegment)
        {
            return FindInvalid(json.FirstSpan);
        }

        if (!IsUtf8(json))
        {
            return NotUtf8;
        }

        var reader = new Utf8JsonReader(json, ReaderOptions);
        return FindHalfPair(ref reader);
    }

    // Valid UTF-8 makes every unescaped string valid; only escapes can still name half a surrogate pair.
    private static string? FindHalfPair(ref Utf8JsonReader reader)
    {
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    try
                    {
                        _ = reader.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        return HalfPair;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON at all: the parser that runs with the caller's own limits says why.
            return null;
        }

        return null;
    }

    private static bool IsUtf8(in ReadOnlySequence<byte> bytes)
    {
        // A character may straddle two buffers, so one decoder reads them all in order.
        var decoder = StrictUtf8.GetDecoder();
        Span<char> chars = stackalloc char[1024];
        try
        {
            foreach (var segment in bytes)
            {
                var rest = segment.Span;
                while (!rest.IsEmpty)
                {
                    decoder.Convert(rest, chars, flush: false, out int used, out _, out _);
                    rest = rest[used..];
                }
            }

            decoder.Convert(ReadOnlySpan<byte>.Empty, chars, flush: true, out _, out _, out _);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
