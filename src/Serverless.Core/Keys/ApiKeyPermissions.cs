namespace Serverless.Core.Keys;

/// <summary>
/// What an API key may do, like the permissions of OpenAI project keys. Every API-key route declares the one it
/// needs (<see cref="Http.ApiRoute.Permission"/>) and the dispatcher checks it. Stored as the names joined by commas
/// in a fixed order, so a key's permissions read the same on SQLite and PostgreSQL.
/// </summary>
public static class ApiKeyPermissions
{
    /// <summary>POST /v1/chat/completions, POST /v1/completions, GET /v1/models[/{id}].</summary>
    public const string Inference = "inference";

    /// <summary>The /v1/files and /v1/batches routes (and cancelling batches or downloading files in the dashboard).</summary>
    public const string Batches = "batches";

    /// <summary>GET /v1/usage and GET /v1/usage/receipt_secret.</summary>
    public const string UsageRead = "usage.read";

    /// <summary>Creating and revoking the customer's keys in the dashboard.</summary>
    public const string KeysManage = "keys.manage";

    public const string ParamName = "permissions";

    /// <summary>Every permission, in the order they are stored and shown.</summary>
    public static IReadOnlyList<string> All { get; } = [Inference, Batches, UsageRead, KeysManage];

    /// <summary>What a key gets when it is created without naming permissions: everything but <see cref="KeysManage"/>.</summary>
    public static IReadOnlyList<string> Default { get; } = [Inference, Batches, UsageRead];

    /// <summary>Known names only, each once, in the order of <see cref="All"/>; null gives <see cref="Default"/>.</summary>
    /// <exception cref="ArgumentException">An unknown name, or an empty list (ParamName "permissions").</exception>
    public static IReadOnlyList<string> Normalize(IEnumerable<string>? permissions)
    {
        if (permissions is null)
        {
            return Default;
        }

        var requested = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in permissions)
        {
            string name = raw?.Trim() ?? string.Empty;
            if (!All.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException(
                    $"Unknown permission '{name}'. Permissions are: {string.Join(", ", All)}.", ParamName);
            }

            requested.Add(name);
        }

        if (requested.Count == 0)
        {
            throw new ArgumentException($"A key needs at least one permission of: {string.Join(", ", All)}.", ParamName);
        }

        return [.. All.Where(requested.Contains)];
    }

    public static string Format(IReadOnlyList<string> permissions) => string.Join(',', permissions);

    public static IReadOnlyList<string> Parse(string? column) =>
        string.IsNullOrEmpty(column) ? [] : column.Split(',', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether every permission of <paramref name="subset"/> is in <paramref name="superset"/>.</summary>
    public static bool IsSubset(IReadOnlyList<string> subset, IReadOnlyList<string> superset)
    {
        ArgumentNullException.ThrowIfNull(subset);
        ArgumentNullException.ThrowIfNull(superset);
        return subset.All(p => superset.Contains(p, StringComparer.Ordinal));
    }
}
