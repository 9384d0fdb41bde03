using System.Security.Cryptography;

namespace Serverless.Core.Http;

/// <summary>Random, URL-safe identifiers in OpenAI's style (<c>chatcmpl-…</c>, <c>req_…</c>).</summary>
public static class Ids
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // Digits then lower-case letters: the same order under ordinal comparison and under any common collation.
    private const string TimeAlphabet = "0123456789abcdefghijklmnopqrstuv";

    private const int TimeLength = 10;

    public static string New(string prefix, int length = 24)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return string.Create(prefix.Length + length, prefix, static (span, p) =>
        {
            p.AsSpan().CopyTo(span);
            RandomNumberGenerator.GetItems(Alphabet, span[p.Length..]);
        });
    }

    /// <summary>
    /// A request id (<c>req_</c> and 24 characters): the creation time in milliseconds, fixed-width in base 32,
    /// then 14 random characters (83 bits). Ids made later sort later, so the ledger's indexes on request ids
    /// (the usage records', the reservations') grow at their right edge: a transaction of many records touches
    /// a few index pages instead of one page per record.
    /// </summary>
    public static string NewRequestId() => NewRequestId(DateTimeOffset.UtcNow);

    /// <inheritdoc cref="NewRequestId()"/>
    public static string NewRequestId(DateTimeOffset now)
    {
        const string prefix = "req_";
        long milliseconds = Math.Max(0, now.ToUnixTimeMilliseconds());
        return string.Create(prefix.Length + 24, milliseconds, static (span, ms) =>
        {
            prefix.AsSpan().CopyTo(span);
            var time = span.Slice(prefix.Length, TimeLength);
            for (int i = TimeLength - 1; i >= 0; i--)
            {
                time[i] = TimeAlphabet[(int)(ms & 31)];
                ms >>= 5;
            }

            RandomNumberGenerator.GetItems(Alphabet, span[(prefix.Length + TimeLength)..]);
        });
    }
}
