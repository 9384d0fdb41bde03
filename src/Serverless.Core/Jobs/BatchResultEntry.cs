using System.Text;
using System.Text.Json;

namespace Serverless.Core.Jobs;

/// <summary>A result entry read back from a chunk's results: the line's index, whether it succeeded, and the output or error line.</summary>
public readonly record struct BatchResultEntry(int Index, bool Ok, ReadOnlyMemory<byte> Line)
{
    /// <summary>False for a line that is not a whole entry.</summary>
    public static bool TryParse(byte[] bytes, out BatchResultEntry entry)
    {
        entry = default;
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("index", out var index) || !root.TryGetProperty("ok", out var ok) || !root.TryGetProperty("line", out var line))
            {
                return false;
            }

            entry = new BatchResultEntry(index.GetInt32(), ok.GetBoolean(), Encoding.UTF8.GetBytes(line.GetRawText()));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
