using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Infra;

/// <summary>Builds infra/main.bicep once (about 2 s) into a temporary folder; the tests read the ARM JSON it produced.</summary>
public sealed class BicepTemplateFixture : IAsyncLifetime
{
    private readonly string _output = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "serverless-bicep-" + Guid.NewGuid().ToString("N"));

    public static string InfraFolder => System.IO.Path.Combine(RepositoryRoot.Path, "infra");

    public static string MainBicep => System.IO.Path.Combine(InfraFolder, "main.bicep");

    public BicepRun Build { get; private set; } = null!;

    public ArmTemplate Template { get; private set; } = null!;

    public string OutputFolder => _output;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_output);
        string json = System.IO.Path.Combine(_output, "main.json");
        Build = await BicepCli.RunAsync("build", MainBicep, "--outfile", json);
        if (Build.ExitCode != 0 || !File.Exists(json))
        {
            throw new InvalidOperationException($"infra/main.bicep does not compile:{Environment.NewLine}{Build}");
        }

        Template = ArmTemplate.Load(json);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_output, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class BicepTemplateGroup : ICollectionFixture<BicepTemplateFixture>
{
    public const string Name = "bicep";
}
