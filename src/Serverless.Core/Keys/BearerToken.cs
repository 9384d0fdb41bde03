namespace Serverless.Core.Keys;

/// <summary>Reads the credentials of an <c>Authorization: Bearer &lt;token&gt;</c> header (RFC 6750).</summary>
internal static class BearerToken
{
    private const string Scheme = "Bearer";

    /// <summary>
    /// No header, or "Bearer" with nothing after it (what SDKs send for an empty key), is Missing; another
    /// scheme or a token containing spaces is Malformed.
    /// </summary>
    public static BearerTokenStatus Extract(string? header, out ReadOnlySpan<char> token)
    {
        token = default;
        var value = header.AsSpan().Trim();
        if (value.IsEmpty)
        {
            return BearerTokenStatus.Missing;
        }

        if (!value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return BearerTokenStatus.Malformed;
        }

        var rest = value[Scheme.Length..];
        if (rest.IsEmpty)
        {
            return BearerTokenStatus.Missing;
        }

        if (rest[0] != ' ')
        {
            return BearerTokenStatus.Malformed;
        }

        var credentials = rest.TrimStart(' ');
        if (credentials.IsEmpty)
        {
            return BearerTokenStatus.Missing;
        }

        if (credentials.ContainsAny(' ', '\t'))
        {
            return BearerTokenStatus.Malformed;
        }

        token = credentials;
        return BearerTokenStatus.Present;
    }
}
