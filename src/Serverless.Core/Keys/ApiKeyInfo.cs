namespace Serverless.Core.Keys;

/// <summary>What may be shown about a key after creation: everything except the key itself.</summary>
/// <param name="MaskedKey">e.g. "sk-svl-7d2kq9mx4hta-...u2Q9": the public id and the last four characters.</param>
/// <param name="ModelScope">Model ids the key may use; empty means every model.</param>
public sealed record ApiKeyInfo(
    string KeyId,
    string CustomerId,
    string Name,
    string MaskedKey,
    IReadOnlyList<string> ModelScope,
    ApiKeyStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt);
