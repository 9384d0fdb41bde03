namespace Serverless.Core.Http;

/// <summary>
/// Who is calling: the authenticated API key (or dashboard session), its customer, the models it may use and what it
/// may do. A dashboard session carries the permissions, scope and expiry of the key it was opened with.
/// </summary>
/// <param name="ModelScope">Model ids the key may use; empty means every model.</param>
/// <param name="Permissions">Permission names (see Keys.ApiKeyPermissions) the key holds.</param>
public sealed record ApiCaller(string KeyId, string CustomerId, IReadOnlyList<string> ModelScope, IReadOnlyList<string> Permissions)
{
    /// <summary>When the caller's key stops working; null when it never expires (or for a sign-in link's session).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>An empty scope means every model.</summary>
    public bool CanUse(string model) => ModelScope.Count == 0 || ModelScope.Contains(model, StringComparer.Ordinal);

    public bool Has(string permission) => Permissions.Contains(permission, StringComparer.Ordinal);
}
