namespace Serverless.Core.Keys;

/// <summary>What may be shown about a key after creation: everything except the key itself.</summary>
/// <param name="MaskedKey">e.g. "sk-svl-7d2kq9mx4hta-...u2Q9": the public id and the last four characters.</param>
/// <param name="ModelScope">Model ids the key may use; empty means every model.</param>
/// <param name="Permissions">What the key may do (<see cref="ApiKeyPermissions"/>), in their fixed order.</param>
public sealed record ApiKeyInfo(
    string KeyId,
    string CustomerId,
    string Name,
    string MaskedKey,
    IReadOnlyList<string> ModelScope,
    IReadOnlyList<string> Permissions,
    ApiKeyStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt);
