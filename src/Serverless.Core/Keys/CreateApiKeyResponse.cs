using System.Text;
using System.Text.Json.Serialization;

namespace Serverless.Core.Keys;

/// <summary>Answer to <c>POST /v1/admin/keys</c>: the only response that ever carries the full key.</summary>
public sealed record CreateApiKeyResponse(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("api_key")] ApiKeyResponse ApiKey)
{
    public static CreateApiKeyResponse From(CreatedApiKey created)
    {
        ArgumentNullException.ThrowIfNull(created);
        return new CreateApiKeyResponse(created.Key, ApiKeyResponse.From(created.Info));
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Key = ").Append(ApiKey.RedactedValue).Append(", ApiKey = ").Append(ApiKey);
        return true;
    }
}
