namespace Serverless.Core.Keys;

/// <summary>Who is calling: the verified key and what it may use.</summary>
/// <param name="ModelScope">Model ids the key may use; empty means every model.</param>
/// <param name="Permissions">What the key may do (<see cref="ApiKeyPermissions"/>).</param>
public sealed record ApiKeyPrincipal(string KeyId, string CustomerId, IReadOnlyList<string> ModelScope, IReadOnlyList<string> Permissions)
{
    public DateTimeOffset? ExpiresAt { get; init; }

    public bool Has(string permission) => Permissions.Contains(permission, StringComparer.Ordinal);

    public bool AllowsAllModels => ModelScope.Count == 0;

    /// <summary>Model ids are compared ordinally, exactly as /v1/models lists them.</summary>
    public bool IsModelAllowed(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        if (AllowsAllModels)
        {
            return true;
        }

        foreach (var allowed in ModelScope)
        {
            if (string.Equals(allowed, modelId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
