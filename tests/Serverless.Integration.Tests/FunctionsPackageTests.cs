using System.Reflection.PortableExecutable;
using System.Text.Json;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests;

/// <summary>
/// The deployment package of the Functions app as infra/README.md publishes it: it publishes in locked restore mode
/// (what CI/CD pipelines run), holds what the Functions host loads, and is ReadyToRun so a cold instance does not
/// JIT-compile the app before its first request.
/// </summary>
public sealed class FunctionsPackageTests(FunctionsPackage package) : IClassFixture<FunctionsPackage>
{
    // The app and the packages a cold start runs through first: hosting, the worker's gRPC channel, the database,
    // blob storage (the model), Durable Task, telemetry, Stripe.
    private static readonly string[] StartupAssemblies =
    [
        "Serverless.Functions.dll", "Serverless.Core.dll", "Microsoft.Azure.Functions.Worker.dll",
        "Microsoft.Azure.Functions.Worker.Core.dll", "Microsoft.Azure.Functions.Worker.Grpc.dll", "Grpc.Net.Client.dll",
        "Google.Protobuf.dll", "Microsoft.EntityFrameworkCore.dll", "Microsoft.EntityFrameworkCore.Relational.dll",
        "Npgsql.dll", "Npgsql.EntityFrameworkCore.PostgreSQL.dll", "Microsoft.Data.Sqlite.dll", "Azure.Core.dll",
        "Azure.Storage.Blobs.dll", "Microsoft.DurableTask.Worker.dll", "OpenTelemetry.dll", "Stripe.net.dll",
        "Microsoft.ML.OnnxRuntimeGenAI.dll",
    ];

    private static bool IsReadyToRun(string path)
    {
        using var stream = File.OpenRead(path);
        using var image = new PEReader(stream);
        return image.PEHeaders.CorHeader is { } header && header.ManagedNativeHeaderDirectory.Size > 0;
    }

    private string InPackage(string name) => Path.Combine(package.Folder, name);

    [Fact]
    public void The_app_and_the_packages_a_cold_start_runs_first_are_precompiled_ReadyToRun_images()
    {
        var missing = StartupAssemblies.Where(name => !File.Exists(InPackage(name))).ToList();
        Assert.Empty(missing);
        var jitted = StartupAssemblies.Where(name => !IsReadyToRun(InPackage(name))).ToList();
        Assert.True(jitted.Count == 0, "not ReadyToRun: " + string.Join(", ", jitted));
    }

    [Fact]
    public void The_package_holds_what_the_Functions_host_loads_for_linux_and_no_local_settings()
    {
        // The worker the host starts, the host's configuration (the repository's one host.json) and the functions it
        // indexes: the same list the build declares (FunctionsMetadataTests checks that list against the routes).
        using var worker = JsonDocument.Parse(File.ReadAllText(InPackage("worker.config.json")));
        var description = worker.RootElement.GetProperty("description");
        Assert.Equal("dotnet-isolated", description.GetProperty("language").GetString());
        Assert.Equal("Serverless.Functions.dll", description.GetProperty("defaultWorkerPath").GetString());
        Assert.True(File.Exists(InPackage(description.GetProperty("defaultWorkerPath").GetString()!)));
        Assert.Equal(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "host.json")), File.ReadAllText(InPackage("host.json")));

        // The host-side extensions it loads from the package (Durable Task for batches, among them), each where it says.
        using var extensions = JsonDocument.Parse(File.ReadAllText(InPackage("extensions.json")));
        var hints = extensions.RootElement.GetProperty("extensions").EnumerateArray()
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("hintPath").GetString()!);
        Assert.Contains("DurableTask", hints.Keys);
        Assert.All(hints.Values, hint => Assert.True(File.Exists(Path.Combine(package.Folder, hint)), hint + " is missing"));

        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string built = Path.Combine(RepositoryRoot.Path, "src", "Serverless.Functions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.Equal(FunctionNames(built), FunctionNames(InPackage("functions.metadata")));

        // Native libraries for the plan's Linux workers: ONNX Runtime (GenAI) for inference, SQLite for the embedded ledger.
        foreach (string native in new[] { "libonnxruntime-genai.so", "libonnxruntime.so", "libe_sqlite3.so" })
        {
            Assert.True(File.Exists(InPackage(native)), native + " is missing");
        }

        Assert.Empty(Directory.GetFiles(package.Folder, "local.settings*.json", SearchOption.AllDirectories));
    }

    private static List<string> FunctionNames(string metadata)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(metadata));
        return [.. document.RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).Order(StringComparer.Ordinal)];
    }
}
