using System.Text.RegularExpressions;

namespace Serverless.Core.Keys;

/// <summary>
/// Customer ids are chosen by the operator (<c>keys create --customer acme</c>) and end up in URLs, CSV
/// exports and billing metadata, so they are kept to a plain, case-sensitive slug.
/// </summary>
internal static partial class CustomerIds
{
    public const int MaxLength = 64;

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
