using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Serverless.Integration.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a valid JSON body, the kinds a careless or hostile client sends: bytes flipped, the body cut
/// short, strings replaced with text that is not Unicode, numbers at and beyond their limits, values of the wrong type,
/// deep nesting, huge strings, duplicated keys.
/// </summary>
public sealed class JsonMutator(int seed)
{
    private static readonly string[] ExtremeNumbers =
    [
        "0", "-1", "-0.0", "1.5", "1e309", "-1e309", "1e-400", "2147483648", "-2147483649", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890", "4.9e-324", "1E+2",
    ];

    private static readonly string[] OtherValues = ["null", "true", "false", "[]", "{}", "\"\"", "\"x\"", "[null]", "{\"a\":1}", "0"];

    private readonly Random _random = new(seed);

    public byte[] Mutate(string seedJson)
    {
        return _random.Next(9) switch
        {
            0 => FlipBytes(Encoding.UTF8.GetBytes(seedJson)),
            1 => Truncate(Encoding.UTF8.GetBytes(seedJson)),
            2 => Encoding.UTF8.GetBytes(ReplaceValue(seedJson, node => node is JsonValue v && v.TryGetValue<string>(out _), _ => "\"bad\\ud800text\"")),
            3 => InvalidUtf8InString(seedJson),
            4 => Encoding.UTF8.GetBytes(ReplaceValue(seedJson, node => node is JsonValue v && IsNumber(v), _ => ExtremeNumbers[_random.Next(ExtremeNumbers.Length)])),
            5 => Encoding.UTF8.GetBytes(ReplaceValue(seedJson, _ => true, _ => OtherValues[_random.Next(OtherValues.Length)])),
            6 => Encoding.UTF8.GetBytes(ReplaceValue(seedJson, _ => true, _ => new string('[', 200) + new string(']', 200))),
            7 => Encoding.UTF8.GetBytes(ReplaceValue(seedJson, node => node is JsonValue v && v.TryGetValue<string>(out _), _ => "\"" + new string('w', 70_000) + "\"")),
            _ => Encoding.UTF8.GetBytes(DuplicateKey(seedJson)),
        };
    }

    private static bool IsNumber(JsonValue value) => value.GetValueKind() == System.Text.Json.JsonValueKind.Number;

    private byte[] FlipBytes(byte[] bytes)
    {
        int flips = 1 + _random.Next(3);
        for (int i = 0; i < flips; i++)
        {
            bytes[_random.Next(bytes.Length)] ^= (byte)(1 << _random.Next(8));
        }

        return bytes;
    }

    private byte[] Truncate(byte[] bytes) => bytes[.._random.Next(bytes.Length)];

    // Raw bytes no UTF-8 decoder accepts, inside a string value.
    private byte[] InvalidUtf8InString(string json)
    {
        string marked = ReplaceValue(json, node => node is JsonValue v && v.TryGetValue<string>(out _), _ => "\"@@BAD@@\"");
        byte[][] bad = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]];
        byte[] replacement = bad[_random.Next(bad.Length)];
        var text = Encoding.UTF8.GetBytes(marked);
        var marker = "@@BAD@@"u8.ToArray();
        int at = text.AsSpan().IndexOf(marker);
        return at < 0 ? text : [.. text[..at], .. replacement, .. text[(at + marker.Length)..]];
    }

    /// <summary>
    /// Replaces one node that matches (chosen at random among all that do) with the given raw text, which need not be
    /// JSON a parser would take (an escape of half a surrogate pair, nesting deeper than parsers allow).
    /// </summary>
    private string ReplaceValue(string json, Func<JsonNode?, bool> matches, Func<JsonNode?, string> replacement)
    {
        const string marker = "@@REPLACED@@";
        var root = JsonNode.Parse(json)!;
        var candidates = new List<(JsonNode Parent, object Slot, JsonNode? Node)>();
        Collect(root, candidates, matches);
        if (candidates.Count == 0)
        {
            return json;
        }

        var (parent, slot, node) = candidates[_random.Next(candidates.Count)];
        string raw = replacement(node);
        if (parent is JsonObject obj)
        {
            obj[(string)slot] = marker;
        }
        else
        {
            ((JsonArray)parent)[(int)slot] = marker;
        }

        return root.ToJsonString().Replace($"\"{marker}\"", raw, StringComparison.Ordinal);
    }

    private static void Collect(JsonNode node, List<(JsonNode, object, JsonNode?)> into, Func<JsonNode?, bool> matches)
    {
        if (node is JsonObject obj)
        {
            foreach (var (name, child) in obj.ToList())
            {
                if (matches(child))
                {
                    into.Add((obj, name, child));
                }

                if (child is not null)
                {
                    Collect(child, into, matches);
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (int i = 0; i < array.Count; i++)
            {
                if (matches(array[i]))
                {
                    into.Add((array, i, array[i]));
                }

                if (array[i] is { } child)
                {
                    Collect(child, into, matches);
                }
            }
        }
    }

    private string DuplicateKey(string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        var names = root.Select(p => p.Key).ToList();
        string name = names[_random.Next(names.Count)];
        string inner = json.TrimEnd()[..^1];
        return string.Create(CultureInfo.InvariantCulture, $"{inner},\"{name}\":{OtherValues[_random.Next(OtherValues.Length)]}}}");
    }
}
