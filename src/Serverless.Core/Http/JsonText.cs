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
    /// <summary>What is wrong with the text of <paramref name="json"/> (already known to parse), or null when nothing is.</summary>
    public static string? FindInvalid(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return "the text is not valid UTF-8";
        }

        // Valid UTF-8 makes every unescaped string valid; only escapes can still name half a surrogate pair.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
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
                        return "a string holds an escape that is not valid UTF-16 (half a surrogate pair, such as \\ud800)";
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
}
