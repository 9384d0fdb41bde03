using System.Text.Json.Serialization;
using Serverless.Core.Models;

namespace Serverless.Core.Http;

/// <summary>Source-generated JSON for the service's own DTOs, snake_case as in OpenAI's API.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ApiErrorEnvelope))]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelObject))]
[JsonSerializable(typeof(ModelStatusList))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
