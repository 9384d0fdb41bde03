using System.Security.Cryptography;

namespace Serverless.Core.Http;

/// <summary>Random, URL-safe identifiers in OpenAI's style (<c>chatcmpl-…</c>, <c>req_…</c>).</summary>
public static class Ids
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string New(string prefix, int length = 24)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return string.Create(prefix.Length + length, prefix, static (span, p) =>
        {
            p.AsSpan().CopyTo(span);
            RandomNumberGenerator.GetItems(Alphabet, span[p.Length..]);
        });
    }
}
