using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Core.Keys;

/// <summary>
/// The text form of an API key:
/// <code>
///   {prefix}-{key id}-{secret}-{checksum}
///   sk-svl-7d2kq9mx4hta-3fQ9...(43 chars)...Zk1-b7Ru2Q        (prefix + 64 characters)
/// </code>
/// <list type="bullet">
/// <item><b>prefix</b>: Keys:Prefix, default "sk-svl". Lets people and secret scanners recognise our keys.</item>
/// <item><b>key id</b>: 12 characters of lower-case Crockford base32 (60 random bits). Public: it is the
/// primary key, the lookup index and what lists, logs and <c>keys revoke</c> use.</item>
/// <item><b>secret</b>: 43 characters of base62 drawn uniformly from a CSPRNG: 43 × log2(62) ≈ 256.03 bits.
/// Base62 keeps the key one "word" for double-click selection apart from the dashes.</item>
/// <item><b>checksum</b>: 6 base62 characters, the first 64 bits of SHA-256 over everything before the last
/// dash, reduced modulo 62^6 (≈ 35.7 bits). A mistyped, truncated or pasted-wrong key fails here, before any
/// database lookup; the checksum is not a secret and adds no security, only early rejection.</item>
/// </list>
/// Every part has a fixed length and its own alphabet without dashes, so parsing is positional and needs no
/// escaping even though the prefix itself contains dashes.
/// </summary>
internal static class ApiKeyFormat
{
    public const int KeyIdLength = 12;
    public const int SecretLength = 43;
    public const int ChecksumLength = 6;
    public const int MaxPrefixLength = 16;

    /// <summary>Characters after the prefix: three dashes plus the three fixed-length parts.</summary>
    public const int LengthAfterPrefix = 1 + KeyIdLength + 1 + SecretLength + 1 + ChecksumLength;

    public const string Base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // Crockford's base32 without i, l, o, u: readable aloud and hard to mistype when revoking by id.
    public const string KeyIdAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    private const ulong ChecksumModulus = 62UL * 62 * 62 * 62 * 62 * 62;

    private static readonly SearchValues<char> Base62Chars = SearchValues.Create(Base62Alphabet);
    private static readonly SearchValues<char> KeyIdChars = SearchValues.Create(KeyIdAlphabet);
    private static readonly SearchValues<char> PrefixChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    public static int KeyLength(string prefix) => prefix.Length + LengthAfterPrefix;

    /// <summary>Makes a new key; the caller stores only its hash.</summary>
    public static (string Key, string KeyId) Generate(string prefix)
    {
        var keyId = RandomNumberGenerator.GetString(KeyIdAlphabet, KeyIdLength);
        var secret = RandomNumberGenerator.GetString(Base62Alphabet, SecretLength);
        var body = string.Concat(prefix, "-", keyId, "-", secret);
        Span<char> checksum = stackalloc char[ChecksumLength];
        ComputeChecksum(body, checksum);
        return (string.Concat(body, "-", checksum), keyId);
    }

    /// <summary>Checks shape and checksum without any I/O; on success <paramref name="keyId"/> is a slice of the key.</summary>
    public static ApiKeyParseResult Parse(ReadOnlySpan<char> key, string prefix, out ReadOnlySpan<char> keyId)
    {
        keyId = default;
        if (key.Length != KeyLength(prefix) || !key.StartsWith(prefix, StringComparison.Ordinal))
        {
            return ApiKeyParseResult.Malformed;
        }

        var rest = key[prefix.Length..];
        var id = rest.Slice(1, KeyIdLength);
        var secret = rest.Slice(2 + KeyIdLength, SecretLength);
        var checksum = rest.Slice(3 + KeyIdLength + SecretLength, ChecksumLength);
        if (rest[0] != '-' || rest[1 + KeyIdLength] != '-' || rest[2 + KeyIdLength + SecretLength] != '-'
            || id.ContainsAnyExcept(KeyIdChars)
            || secret.ContainsAnyExcept(Base62Chars)
            || checksum.ContainsAnyExcept(Base62Chars))
        {
            return ApiKeyParseResult.Malformed;
        }

        Span<char> expected = stackalloc char[ChecksumLength];
        ComputeChecksum(key[..^(ChecksumLength + 1)], expected);
        if (!checksum.SequenceEqual(expected))
        {
            return ApiKeyParseResult.BadChecksum;
        }

        keyId = id;
        return ApiKeyParseResult.Valid;
    }

    /// <summary>True when a configured prefix can start a key: lower-case words joined by single dashes.</summary>
    public static bool IsValidPrefix(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix) || prefix.Length > MaxPrefixLength
            || prefix[0] == '-' || prefix[^1] == '-' || prefix.Contains("--", StringComparison.Ordinal))
        {
            return false;
        }

        return !prefix.AsSpan().ContainsAnyExcept(PrefixChars);
    }

    private static void ComputeChecksum(ReadOnlySpan<char> body, Span<char> destination)
    {
        // Callers pass only ASCII (checked alphabets and a validated prefix), so one byte per char.
        Span<byte> bytes = stackalloc byte[body.Length];
        Encoding.ASCII.GetBytes(body, bytes);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, digest);

        var value = BinaryPrimitives.ReadUInt64BigEndian(digest) % ChecksumModulus;
        for (var i = ChecksumLength - 1; i >= 0; i--)
        {
            destination[i] = Base62Alphabet[(int)(value % 62)];
            value /= 62;
        }
    }
}
