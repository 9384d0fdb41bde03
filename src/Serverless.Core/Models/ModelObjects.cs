using System.Text.Json.Serialization;

namespace Serverless.Core.Models;

/// <summary>OpenAI's model object.</summary>
public sealed record ModelObject(string Id, long Created, string OwnedBy)
{
    public string Object => "model";
}

public sealed record ModelList(IReadOnlyList<ModelObject> Data)
{
    public string Object => "list";
}

/// <summary>Source-generated JSON for /v1/models and the admin model status, snake_case as in OpenAI's API.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelObject))]
[JsonSerializable(typeof(ModelStatusList))]
internal sealed partial class ModelsJsonContext : JsonSerializerContext;
