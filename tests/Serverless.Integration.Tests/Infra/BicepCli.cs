using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Serverless.Integration.Tests.Infra;

/// <summary>
/// The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 NuGet package (a PackageDownload of this project, so
/// restore brings it; nothing is fetched at test time). Builds and lints offline.
/// </summary>
public static class BicepCli
{
    private const string PackageId = "azure.bicep.commandline.linux-x64";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<string> Executable = new(Locate);

    public static string Version => Metadata("BicepCliVersion")
        ?? throw new InvalidOperationException("The test assembly carries no BicepCliVersion metadata; see the test project file.");

    public static string Path => Executable.Value;

    public static async Task<BicepRun> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No telemetry, and no prompt to check for a newer CLI: the run must be the same offline and online.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish within {Timeout}.");
        }

        // WaitForExitAsync returns once the streams are drained too, so the captured text is complete here.
        return new BicepRun(arguments, process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (buffer)
        {
            buffer.AppendLine(line);
        }
    }

    private static string Locate()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            throw new PlatformNotSupportedException("The infra tests run the linux-x64 Bicep CLI package.");
        }

        // NUGET_PACKAGES wins, as it does for restore; then the folder this project restored into; then the default.
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string?[] roots =
        [
            Environment.GetEnvironmentVariable("NUGET_PACKAGES"),
            Metadata("NuGetPackageRoot"),
            System.IO.Path.Combine(home, ".nuget", "packages"),
        ];
        var candidates = roots
            .Where(root => !string.IsNullOrWhiteSpace(root))
            .Select(root => System.IO.Path.Combine(root!, PackageId, Version, "tools", "bicep"))
            .ToList();
        string executable = candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"Bicep CLI {Version} not found; restore tests/Serverless.Integration.Tests (it downloads the package). Looked in: {string.Join(", ", candidates)}");

        // NuGet extracts files without their execute bit on some systems.
        var mode = File.GetUnixFileMode(executable);
        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((mode & UnixFileMode.UserExecute) == 0)
        {
            File.SetUnixFileMode(executable, mode | execute);
        }

        return executable;
    }

    private static string? Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
}

/// <summary>One finished run of the Bicep CLI.</summary>
public sealed record BicepRun(IReadOnlyList<string> Arguments, int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    /// <summary>Every diagnostic line (errors, warnings, linter findings), which Bicep writes to standard error.</summary>
    public IReadOnlyList<string> Diagnostics =>
        StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"bicep {string.Join(' ', Arguments)} -> exit {ExitCode} in {Elapsed.TotalSeconds:0.0} s{Environment.NewLine}{StandardError}");
}
