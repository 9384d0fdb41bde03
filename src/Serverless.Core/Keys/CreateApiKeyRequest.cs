using System.Text.Json.Serialization;

namespace Serverless.Core.Keys;

/// <summary>Body of <c>POST /v1/admin/keys</c>.</summary>
/// <param name="Customer">Customer id, e.g. "acme"; created when new.</param>
/// <param name="Models">Model ids the key may use; null or empty for every model.</param>
/// <param name="Permissions">What the key may do; null for inference, batches and usage.read.</param>
/// <param name="ExpiresAt">Unix seconds; null for a key that does not expire.</param>
public sealed record CreateApiKeyRequest(
    [property: JsonPropertyName("customer")] string Customer,
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("models")] IReadOnlyList<string>? Models = null,
    [property: JsonPropertyName("expires_at")] long? ExpiresAt = null,
    [property: JsonPropertyName("permissions")] IReadOnlyList<string>? Permissions = null)
{
    [JsonIgnore]
    public DateTimeOffset? ExpiresAtTime => ExpiresAt is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
}
