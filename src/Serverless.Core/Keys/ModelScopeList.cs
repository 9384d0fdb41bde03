namespace Serverless.Core.Keys;

/// <summary>
/// A key's model scope as stored: model ids joined by commas, or null for every model. A plain string
/// column reads the same on SQLite and PostgreSQL, and scopes are only ever read whole, never queried.
/// </summary>
internal static class ModelScopeList
{
    public const int MaxModelIdLength = 128;

    /// <summary>Trims, removes duplicates and rejects ids that could not round-trip through the column.</summary>
    public static string[] Normalize(IReadOnlyList<string>? modelScope)
    {
        if (modelScope is null || modelScope.Count == 0)
        {
            return [];
        }

        var result = new List<string>(modelScope.Count);
        foreach (var raw in modelScope)
        {
            var id = raw?.Trim();
            if (string.IsNullOrEmpty(id) || id.Length > MaxModelIdLength || id.Contains(',', StringComparison.Ordinal)
                || id.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException(
                    $"Model ids must be 1-{MaxModelIdLength} characters without commas or spaces.", nameof(modelScope));
            }

            if (!result.Contains(id, StringComparer.Ordinal))
            {
                result.Add(id);
            }
        }

        return [.. result];
    }

    public static string? Format(string[] modelScope) => modelScope.Length == 0 ? null : string.Join(',', modelScope);

    public static string[] Parse(string? column) =>
        string.IsNullOrEmpty(column) ? [] : column.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
