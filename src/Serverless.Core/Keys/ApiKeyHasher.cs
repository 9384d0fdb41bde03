using System.Security.Cryptography;
using System.Text;

namespace Serverless.Core.Keys;

/// <summary>
/// HMAC-SHA256 of the full key text under Keys:HashSecret. A keyed hash rather than a plain one: a copy of
/// the database alone does not let anyone test guesses offline, and the key's 256 random bits make a slow
/// password hash unnecessary, so verification costs about a microsecond.
/// </summary>
internal sealed class ApiKeyHasher(byte[] secret)
{
    public const int HashLength = HMACSHA256.HashSizeInBytes;

    /// <summary>Hashes a key that has passed <see cref="ApiKeyFormat.Parse"/> (ASCII only, bounded length).</summary>
    public void Hash(ReadOnlySpan<char> key, Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[key.Length];
        Encoding.ASCII.GetBytes(key, bytes);
        HMACSHA256.HashData(secret, bytes, destination);
    }

    public byte[] Hash(string key)
    {
        var hash = new byte[HashLength];
        Hash(key, hash);
        return hash;
    }
}
