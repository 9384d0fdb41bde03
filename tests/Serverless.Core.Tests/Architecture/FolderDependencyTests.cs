using System.Text.RegularExpressions;

namespace Serverless.Core.Tests.Architecture;

/// <summary>
/// The plumbing folders are leaves: features depend on Http, Data and Telemetry, never the other way, Telemetry depends on
/// no other folder (the dispatcher in Http calls into it), and the model store does not depend on the inference that
/// uses it. Read from the source, so a new using or a fully qualified name both count.
/// </summary>
public sealed class FolderDependencyTests
{
    private static readonly string[] Features = ["Billing", "Dashboard", "Files", "Inference", "Jobs", "Keys", "Metering", "Models", "Operations"];

    [Theory]
    [InlineData("Http")]
    [InlineData("Data")]
    [InlineData("Telemetry")]
    public void A_plumbing_folder_names_no_feature_folder(string folder)
    {
        Assert.Empty(References(folder, Features));
    }

    [Fact]
    public void Telemetry_names_no_other_plumbing_folder()
    {
        Assert.Empty(References("Telemetry", ["Http", "Data"]));
    }

    [Fact]
    public void The_model_store_does_not_depend_on_inference()
    {
        Assert.Empty(References("Models", ["Inference"]));
    }

    [Fact]
    public void The_operator_overview_sits_on_top_no_feature_names_it()
    {
        // Metering's heartbeat asks an IInstanceLoadSource; Operations implements it, so Metering stays below it.
        Assert.All(Features.Where(f => f != "Operations"), f => Assert.Empty(References(f, ["Operations"])));
    }

    [Fact]
    public void Every_feature_is_read_by_the_check()
    {
        // Guards the check itself: a renamed folder would otherwise make it pass vacuously.
        Assert.All(Features.Append("Http").Append("Data").Append("Telemetry"), f => Assert.True(Directory.Exists(Path.Combine(CoreSource(), f)), f));
        Assert.NotEmpty(References("Inference", ["Models"]));
        Assert.NotEmpty(References("Http", ["Telemetry"]));
    }

    private static List<string> References(string folder, IEnumerable<string> targets)
    {
        var pattern = new Regex($@"\bServerless\.Core\.({string.Join('|', targets)})\b", RegexOptions.CultureInvariant);
        string root = Path.Combine(CoreSource(), folder);
        return Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).StartsWith("Migrations", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(x => pattern.IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(root, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
    }

    private static string CoreSource()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        return Path.Combine(dir.FullName, "src", "Serverless.Core");
    }
}
