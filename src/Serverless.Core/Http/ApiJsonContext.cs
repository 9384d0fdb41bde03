using System.Text.Json.Serialization;

namespace Serverless.Core.Http;

/// <summary>Source-generated JSON for what the dispatcher itself writes (errors, health), snake_case as in OpenAI's API. Features have their own.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ApiErrorEnvelope))]
[JsonSerializable(typeof(HealthStatus))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
