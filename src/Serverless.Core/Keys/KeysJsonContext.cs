using System.Text.Json.Serialization;

namespace Serverless.Core.Keys;

[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(CreateApiKeyResponse))]
[JsonSerializable(typeof(ApiKeyListResponse))]
[JsonSerializable(typeof(RevokeApiKeyResponse))]
internal sealed partial class KeysJsonContext : JsonSerializerContext;
