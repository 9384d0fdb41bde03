using System.Text.Json.Serialization;

namespace Serverless.Core.Models;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ModelManifestDocument))]
internal sealed partial class ModelManifestJsonContext : JsonSerializerContext;
