using System.Text.Json.Serialization;

namespace Serverless.Core.Keys;

/// <summary>One key as the admin API shows it (masked). Times are Unix seconds, as in OpenAI's API.</summary>
/// <param name="Models">Model ids the key may use; empty for every model.</param>
/// <param name="Permissions">What the key may do: inference, batches, usage.read, keys.manage.</param>
/// <param name="Status">"active", "revoked" or "expired".</param>
public sealed record ApiKeyResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("customer")] string Customer,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("redacted_value")] string RedactedValue,
    [property: JsonPropertyName("models")] IReadOnlyList<string> Models,
    [property: JsonPropertyName("permissions")] IReadOnlyList<string> Permissions,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("expires_at")] long? ExpiresAt,
    [property: JsonPropertyName("revoked_at")] long? RevokedAt,
    [property: JsonPropertyName("last_used_at")] long? LastUsedAt)
{
    [JsonPropertyName("object")]
    public string Object => "api_key";

    public static ApiKeyResponse From(ApiKeyInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new ApiKeyResponse(
            info.KeyId,
            info.CustomerId,
            info.Name,
            info.MaskedKey,
            info.ModelScope,
            info.Permissions,
            info.Status.Name(),
            info.CreatedAt.ToUnixTimeSeconds(),
            info.ExpiresAt?.ToUnixTimeSeconds(),
            info.RevokedAt?.ToUnixTimeSeconds(),
            info.LastUsedAt?.ToUnixTimeSeconds());
    }
}
