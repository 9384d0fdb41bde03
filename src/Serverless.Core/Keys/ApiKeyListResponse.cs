using System.Text.Json.Serialization;

namespace Serverless.Core.Keys;

/// <summary>Answer to <c>GET /v1/admin/keys[?customer=acme]</c>, in OpenAI's list shape.</summary>
public sealed record ApiKeyListResponse([property: JsonPropertyName("data")] IReadOnlyList<ApiKeyResponse> Data)
{
    [JsonPropertyName("object")]
    public string Object => "list";

    public static ApiKeyListResponse From(IEnumerable<ApiKeyInfo> keys) => new([.. keys.Select(ApiKeyResponse.From)]);
}
