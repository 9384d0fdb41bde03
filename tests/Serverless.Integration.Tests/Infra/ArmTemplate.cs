using System.Text.Json;

namespace Serverless.Integration.Tests.Infra;

/// <summary>
/// A compiled ARM template (from <c>bicep build</c>) and its nested module templates, read as JSON. Resources may be
/// an array or, in languageVersion 2.0 templates, an object keyed by symbolic name; both read the same here.
/// </summary>
public sealed class ArmTemplate
{
    private ArmTemplate(JsonElement root, string path, ArmResource? deployment)
    {
        Root = root;
        Path = path;
        Deployment = deployment;
        Resources = ReadResources(root).Select(r => new ArmResource(this, r.Key, r.Value)).ToList();
        Nested = Resources
            .Where(r => r.Type == "Microsoft.Resources/deployments" && r.Element.TryGetProperty("properties", out var p) && p.TryGetProperty("template", out _))
            .Select(r => new ArmTemplate(r.Element.GetProperty("properties").GetProperty("template"), $"{path}/{r.Name}", r))
            .ToList();
    }

    public JsonElement Root { get; }

    /// <summary>"main", or "main/functionApp" for the template of the module deployed as "functionApp".</summary>
    public string Path { get; }

    /// <summary>The deployments resource that deploys this template; null for the top-level template.</summary>
    public ArmResource? Deployment { get; }

    public IReadOnlyList<ArmResource> Resources { get; }

    public IReadOnlyList<ArmTemplate> Nested { get; }

    public IEnumerable<ArmTemplate> SelfAndNested => Nested.SelectMany(n => n.SelfAndNested).Prepend(this);

    public IEnumerable<ArmResource> AllResources => SelfAndNested.SelectMany(t => t.Resources);

    public IEnumerable<KeyValuePair<string, string>> Parameters =>
        Root.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetProperty("type").GetString()!))
            : [];

    /// <summary>Parameters of type securestring or secureObject: values ARM keeps out of logs and deployment history.</summary>
    public IReadOnlyList<string> SecureParameters =>
        Parameters.Where(p => p.Value.StartsWith("secure", StringComparison.OrdinalIgnoreCase)).Select(p => p.Key).ToList();

    public static ArmTemplate Load(string file) =>
        new(JsonDocument.Parse(File.ReadAllText(file)).RootElement.Clone(), "main", null);

    /// <summary>The single resource of <paramref name="type"/> anywhere in the template tree.</summary>
    public ArmResource Single(string type) => AllResources.Single(r => r.Type == type);

    public IEnumerable<ArmResource> OfType(string type) => AllResources.Where(r => r.Type == type);

    /// <summary>The nested template deployed by the module called <paramref name="deploymentName"/>.</summary>
    public ArmTemplate Module(string deploymentName) => SelfAndNested.Single(t => t.Deployment?.Name == deploymentName);

    private static IEnumerable<KeyValuePair<string, JsonElement>> ReadResources(JsonElement template)
    {
        if (!template.TryGetProperty("resources", out var resources))
        {
            return [];
        }

        return resources.ValueKind == JsonValueKind.Object
            ? resources.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value))
            : resources.EnumerateArray().Select((r, i) => KeyValuePair.Create(i.ToString(System.Globalization.CultureInfo.InvariantCulture), r));
    }
}

/// <summary>One resource of a compiled template.</summary>
public sealed class ArmResource(ArmTemplate template, string key, JsonElement element)
{
    public ArmTemplate Template { get; } = template;

    /// <summary>Symbolic name (languageVersion 2.0) or position in the resources array.</summary>
    public string Key { get; } = key;

    public JsonElement Element { get; } = element;

    public string Type => Element.GetProperty("type").GetString()!;

    public string Name => Element.GetProperty("name").GetString()!;

    public bool Existing => Element.TryGetProperty("existing", out var existing) && existing.GetBoolean();

    public JsonElement Properties => Element.GetProperty("properties");

    /// <summary>The value at a dotted path below the resource (e.g. "properties.siteConfig.minTlsVersion"), or null.</summary>
    public JsonElement? At(string path)
    {
        var current = Element;
        foreach (var segment in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
            {
                return null;
            }
        }

        return current;
    }

    public string? StringAt(string path) => At(path) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>Every string in the resource with its path, not descending into a nested module template.</summary>
    public IEnumerable<(string Path, string Value)> Strings() => ArmJson.Strings(Element, string.Empty, skipNestedTemplates: true);

    public override string ToString() => $"{Template.Path}: {Type} '{Key}'";
}

internal static class ArmJson
{
    public static IEnumerable<(string Path, string Value)> Strings(JsonElement element, string path, bool skipNestedTemplates)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                yield return (path, element.GetString()!);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string childPath = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                    if (skipNestedTemplates && childPath == "properties.template")
                    {
                        continue;
                    }

                    // Property names can be expressions too (e.g. the identity map's key).
                    yield return (childPath + "#name", property.Name);
                    foreach (var item in Strings(property.Value, childPath, skipNestedTemplates))
                    {
                        yield return item;
                    }
                }

                break;
            case JsonValueKind.Array:
                int index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var inner in Strings(item, $"{path}[{index}]", skipNestedTemplates))
                    {
                        yield return inner;
                    }

                    index++;
                }

                break;
        }
    }
}
