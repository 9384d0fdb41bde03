using System.Text.Json;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Infra;

/// <summary>The Function App in the compiled template: its site resource, its app settings and what main passes to its module.</summary>
public sealed class FunctionAppTemplate
{
    public FunctionAppTemplate(ArmTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        Site = template.OfType("Microsoft.Web/sites").Single(r => !r.Existing);
        var settings = Site.At("properties.siteConfig.appSettings")
            ?? throw new InvalidOperationException("The site has no siteConfig.appSettings array.");
        Assert.Equal(JsonValueKind.Array, settings.ValueKind);
        var pairs = settings.EnumerateArray()
            .Select(s => (Name: s.GetProperty("name").GetString()!, Value: s.GetProperty("value").GetString()!))
            .ToList();
        Assert.Equal(pairs.Count, pairs.Select(p => p.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Settings = pairs.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
    }

    public ArmResource Site { get; }

    /// <summary>App setting name to value; values are ARM expressions ("[...]") or literals.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>The expression main.bicep passes for <paramref name="parameter"/> of the Function App module.</summary>
    public string PassedFromMain(string parameter)
    {
        var deployment = Site.Template.Deployment ?? throw new InvalidOperationException("The Function App is expected in a module.");
        var passed = deployment.At($"properties.parameters.{parameter}")
            ?? throw new InvalidOperationException($"main.bicep passes no '{parameter}' to the Function App module.");
        // Usually { "value": ... }; a conditional value compiles to one expression building that object.
        return passed.ValueKind == JsonValueKind.Object ? passed.GetProperty("value").ToString() : passed.ToString();
    }

    /// <summary>The Values of local.settings.sample.json, which lists every setting the app reads.</summary>
    public static IReadOnlyDictionary<string, string> LocalSettingsSample()
    {
        string path = Path.Combine(RepositoryRoot.Path, "local.settings.sample.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal);
    }
}
