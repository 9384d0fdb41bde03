using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Build;

/// <summary>
/// Every project's dependency graph is fixed in the repository, so what the registry serves on a given day cannot
/// change a fresh clone's build; and when a locked package stops being served, the restore says which one and how
/// to update the locks, in one line (eng/restore.sh, which test.sh, run.sh and CI call).
/// </summary>
public sealed class LockedRestoreTests
{
    private static readonly string Root = RepositoryRoot.Path;

    private static IEnumerable<string> ProjectFiles() =>
        new[] { "src", "tests" }
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(Root, folder), "*.csproj", SearchOption.AllDirectories))
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "node_modules"))
            .Order(StringComparer.Ordinal);

    [Fact]
    public void Every_project_and_the_functions_extension_project_have_a_lock_file_in_the_repository()
    {
        var expected = ProjectFiles()
            .Select(project => Path.Combine(Path.GetDirectoryName(project)!, "packages.lock.json"))
            .Append(Path.Combine(Root, "src", "Serverless.Functions", "packages.extensions.lock.json"))
            .Select(path => Path.GetRelativePath(Root, path).Replace(Path.DirectorySeparatorChar, '/'))
            .ToList();
        Assert.True(expected.Count >= 7, $"found only {expected.Count} lock files to expect");

        foreach (var lockFile in expected)
        {
            Assert.True(File.Exists(Path.Combine(Root, lockFile)), $"{lockFile} is missing: run eng/restore.sh --update");
        }

        if (Directory.Exists(Path.Combine(Root, ".git")) || File.Exists(Path.Combine(Root, ".git")))
        {
            var tracked = Run("git", ["ls-files", "--", .. expected], Root).Output
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Equal(expected.Order(StringComparer.Ordinal), tracked.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void Every_lock_file_records_the_central_version_of_each_direct_package()
    {
        var central = XDocument.Load(Path.Combine(Root, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!, StringComparer.OrdinalIgnoreCase);

        foreach (var project in ProjectFiles())
        {
            var lockFile = Path.Combine(Path.GetDirectoryName(project)!, "packages.lock.json");
            using var document = JsonDocument.Parse(File.ReadAllText(lockFile));
            foreach (var framework in document.RootElement.GetProperty("dependencies").EnumerateObject())
            {
                foreach (var package in framework.Value.EnumerateObject().Where(p => p.Value.GetProperty("type").GetString() == "Direct"))
                {
                    Assert.True(central.TryGetValue(package.Name, out var version), $"{package.Name} in {lockFile} has no central version");
                    var resolved = package.Value.GetProperty("resolved").GetString();
                    Assert.True(resolved == version, $"{lockFile} locks {package.Name} {resolved}, Directory.Packages.props says {version}: run eng/restore.sh --update");
                }
            }
        }
    }

    [Fact]
    public void Restore_is_locked_on_CI()
    {
        var result = Run(
            "dotnet",
            ["msbuild", Path.Combine(Root, "src", "Serverless.Core", "Serverless.Core.csproj"), "-getProperty:RestorePackagesWithLockFile", "-getProperty:RestoreLockedMode"],
            Root,
            new Dictionary<string, string> { ["CI"] = "true" });

        Assert.True(result.ExitCode == 0, result.Output);
        using var properties = JsonDocument.Parse(result.Output);
        Assert.Equal("true", properties.RootElement.GetProperty("Properties").GetProperty("RestorePackagesWithLockFile").GetString());
        Assert.Equal("true", properties.RootElement.GetProperty("Properties").GetProperty("RestoreLockedMode").GetString());
    }

    [Theory]
    [InlineData(false)] // the registry no longer has the package at all (NU1101)
    [InlineData(true)] // the registry has other versions, not the locked one (NU1102)
    public void A_locked_package_the_registry_no_longer_serves_fails_restore_with_one_line_naming_it_and_the_update_command(bool otherVersionServed)
    {
        using var probe = new ProbeProject("1.2.3", "1.2.3");
        if (otherVersionServed)
        {
            probe.Serve("1.2.4");
        }

        var result = probe.RestoreLocked();

        Assert.NotEqual(0, result.ExitCode);
        var lines = result.Output.Split('\n').Where(l => l.Contains(ProbeProject.PackageId, StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.StartsWith("restore failed: Serverless.Gone 1.2.3 ", line, StringComparison.Ordinal);
        Assert.Contains("not served", line, StringComparison.Ordinal);
        Assert.Contains("eng/restore.sh --update", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lock_file_that_no_longer_matches_its_project_fails_restore_with_one_line_and_the_update_command()
    {
        using var probe = new ProbeProject(referenced: "2.0.0", locked: "1.2.3");
        probe.Serve("2.0.0");

        var result = probe.RestoreLocked();

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Output.Split('\n'), l => l.StartsWith("restore failed:", StringComparison.Ordinal));
        Assert.Contains("no longer matches its package references", line, StringComparison.Ordinal);
        Assert.Contains("from [1.2.3, ) to [2.0.0, )", line, StringComparison.Ordinal);
        Assert.Contains("eng/restore.sh --update", line, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Output) Run(string file, IEnumerable<string> arguments, string directory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    /// <summary>
    /// A project outside the repository with its own lock file, restored from a local folder feed into an empty
    /// package cache: offline, and the locked package can be made to be served or not.
    /// </summary>
    private sealed class ProbeProject : IDisposable
    {
        public const string PackageId = "Serverless.Gone";
        private readonly string _directory = Directory.CreateTempSubdirectory("serverless-lock-").FullName;

        public ProbeProject(string referenced, string locked)
        {
            Directory.CreateDirectory(Feed);
            Directory.CreateDirectory(Path.Combine(_directory, "packages"));
            File.WriteAllText(ProjectPath, $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <RestorePackagesWithLockFile>true</RestorePackagesWithLockFile>
                    <NuGetAudit>false</NuGetAudit>
                  </PropertyGroup>
                  <ItemGroup><PackageReference Include="{PackageId}" Version="{referenced}" /></ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(_directory, "packages.lock.json"), $$"""
                {
                  "version": 1,
                  "dependencies": {
                    "net10.0": {
                      "{{PackageId}}": { "type": "Direct", "requested": "[{{locked}}, )", "resolved": "{{locked}}", "contentHash": "AA==" }
                    }
                  }
                }
                """);
            File.WriteAllText(Path.Combine(_directory, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><clear /><add key="probe" value="{Feed}" /></packageSources></configuration>
                """);
        }

        private string Feed => Path.Combine(_directory, "feed");

        private string ProjectPath => Path.Combine(_directory, "Probe.csproj");

        /// <summary>Puts a minimal package of that version in the feed.</summary>
        public void Serve(string version)
        {
            using var package = ZipFile.Open(Path.Combine(Feed, $"{PackageId}.{version}.nupkg"), ZipArchiveMode.Create);
            using var nuspec = new StreamWriter(package.CreateEntry($"{PackageId}.nuspec").Open());
            nuspec.Write($"""
                <?xml version="1.0" encoding="utf-8"?>
                <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
                  <metadata><id>{PackageId}</id><version>{version}</version><authors>tests</authors><description>probe</description></metadata>
                </package>
                """);
        }

        public (int ExitCode, string Output) RestoreLocked() =>
            Run("bash", [Path.Combine(Root, "eng", "restore.sh"), ProjectPath], Root, new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = Path.Combine(_directory, "packages"),
                ["TMPDIR"] = _directory,
            });

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
