using System.Diagnostics;

namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// The Functions app's deployment package, published the way infra/README.md deploys it
/// (<c>dotnet publish src/Serverless.Functions -c Release -r linux-x64 --self-contained false</c>) in locked restore
/// mode. test.sh publishes it once before the tests and names the folder in SERVERLESS_TEST_FUNCTIONS_PACKAGE; without
/// it (a plain <c>dotnet test</c>) this publishes into a temporary folder itself, which takes a minute or two.
/// </summary>
public sealed class FunctionsPackage : IAsyncLifetime
{
    public const string Variable = "SERVERLESS_TEST_FUNCTIONS_PACKAGE";

    private string? _temporary;

    public string Folder { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } published)
        {
            Folder = published;
            return;
        }

        _temporary = Directory.CreateTempSubdirectory("serverless-functions-package-").FullName;
        Folder = Path.Combine(_temporary, "functions");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[]
        {
            "publish", "src/Serverless.Functions", "-c", "Release", "-r", "linux-x64", "--self-contained", "false",
            "-o", Folder, "-nologo", "-p:RestoreLockedMode=true",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"dotnet publish failed ({process.ExitCode}):\n{await output}\n{await errors}");
    }

    public Task DisposeAsync()
    {
        if (_temporary is not null)
        {
            Directory.Delete(_temporary, recursive: true);
        }

        return Task.CompletedTask;
    }
}
