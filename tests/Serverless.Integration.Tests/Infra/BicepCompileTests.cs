using System.Text.Json;
using System.Text.RegularExpressions;

namespace Serverless.Integration.Tests.Infra;

/// <summary>infra/ compiles and lints cleanly with the pinned Bicep CLI, offline.</summary>
[Collection(BicepTemplateGroup.Name)]
public sealed partial class BicepCompileTests(BicepTemplateFixture bicep)
{
    // Rules left off, each for a reason that has nothing to do with the template's quality.
    private static readonly Dictionary<string, string> RulesOff = new(StringComparer.Ordinal)
    {
        // Compares API versions with today's date: the same template would start failing with time alone.
        ["use-recent-api-versions"] = "date-dependent",
        // Asks a module registry for newer versions: needs the network, and the template uses no registry modules.
        ["use-recent-module-versions"] = "needs a registry",
    };

    [Fact]
    public void Main_template_builds_to_arm_json_without_errors_or_warnings()
    {
        Assert.True(bicep.Build.ExitCode == 0, bicep.Build.ToString());
        Assert.Empty(bicep.Build.Diagnostics);

        var generator = bicep.Template.Root.GetProperty("metadata").GetProperty("_generator");
        Assert.Equal("bicep", generator.GetProperty("name").GetString());
        Assert.StartsWith(BicepCli.Version + ".", generator.GetProperty("version").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Linter_finds_nothing_in_the_templates()
    {
        var lint = await BicepCli.RunAsync("lint", BicepTemplateFixture.MainBicep);

        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Empty(lint.Diagnostics);
    }

    [Fact]
    public void Bicepconfig_raises_every_core_linter_rule_to_error_so_a_finding_fails_the_build()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(BicepTemplateFixture.InfraFolder, "bicepconfig.json")));
        var core = config.RootElement.GetProperty("analyzers").GetProperty("core");
        Assert.True(core.GetProperty("enabled").GetBoolean());

        var levels = core.GetProperty("rules").EnumerateObject().ToDictionary(r => r.Name, r => r.Value.GetProperty("level").GetString());
        foreach (string rule in MustBeErrors)
        {
            Assert.True(levels.TryGetValue(rule, out var level) && level == "error", $"linter rule {rule} should be at level error");
        }

        Assert.All(levels.Where(l => l.Value != "error"), l => Assert.True(RulesOff.ContainsKey(l.Key), $"rule {l.Key} is '{l.Value}' without a documented reason"));
    }

    [Fact]
    public async Task Dev_parameters_file_builds_against_the_template()
    {
        string output = Path.Combine(bicep.OutputFolder, "main.dev.parameters.json");
        var run = await BicepCli.RunAsync("build-params", Path.Combine(BicepTemplateFixture.InfraFolder, "main.dev.bicepparam"), "--outfile", output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Empty(run.Diagnostics);
        using var parameters = JsonDocument.Parse(File.ReadAllText(output));
        var declared = bicep.Template.Parameters.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        Assert.All(parameters.RootElement.GetProperty("parameters").EnumerateObject(), p => Assert.Contains(p.Name, declared));
    }

    [Fact]
    public void Dev_parameters_file_takes_every_secret_from_the_environment_never_from_a_literal()
    {
        string text = File.ReadAllText(Path.Combine(BicepTemplateFixture.InfraFolder, "main.dev.bicepparam"));
        var assignments = ParamAssignment().Matches(text).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value.Trim(), StringComparer.Ordinal);

        var secure = bicep.Template.SecureParameters;
        Assert.NotEmpty(secure);
        foreach (string name in secure.Where(assignments.ContainsKey))
        {
            Assert.StartsWith("readEnvironmentVariable(", assignments[name], StringComparison.Ordinal);
        }
    }

    private static readonly string[] MustBeErrors =
    [
        "no-unused-params", "no-unused-vars", "no-hardcoded-env-urls", "no-hardcoded-location",
        "outputs-should-not-contain-secrets", "secure-parameter-default", "secure-params-in-nested-deploy",
        "secure-secrets-in-params", "use-secure-value-for-secure-inputs", "no-unnecessary-dependson",
        "use-resource-symbol-reference", "use-stable-resource-identifiers", "adminusername-should-not-be-literal",
    ];

    [GeneratedRegex(@"^param\s+(?<name>\w+)\s*=\s*(?<value>.+)$", RegexOptions.Multiline)]
    private static partial Regex ParamAssignment();
}
