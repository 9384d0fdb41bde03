using System.Text.Json.Serialization;

namespace Serverless.Core.Keys;

/// <summary>Answer to <c>DELETE /v1/admin/keys/{id}</c> (404 when <see cref="ApiKeyService.RevokeAsync"/> returns false).</summary>
public sealed record RevokeApiKeyResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("revoked")] bool Revoked = true)
{
    [JsonPropertyName("object")]
    public string Object => "api_key";
}
