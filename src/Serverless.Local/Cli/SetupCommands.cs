using System.CommandLine;
using System.Globalization;
using Serverless.Core.Keys;
using Serverless.Core.Models.Demo;

namespace Serverless.Local.Cli;

/// <summary><c>setup</c> (what <c>./run.sh</c> does before serving) and <c>migrate</c>.</summary>
internal static class SetupCommands
{
    private const string DemoModelId = "demo";

    // The prices setup gives models that have none: $0.50 / $1.50 per million input / output tokens, 50% off in batches.
    private const long DemoInputPrice = 500_000;
    private const long DemoOutputPrice = 1_500_000;
    private const long DemoBatchDiscount = 5_000;

    public static Command Migrate()
    {
        return new Command("migrate", "Apply database migrations.")
            .WithAction(CliNeeds.Database, (_, _, _) =>
            {
                Console.WriteLine("Database is up to date.");
                return Task.FromResult(0);
            });
    }

    public static Command Setup()
    {
        var devKeyFile = CliValues.Text("--dev-key-file", "F", "keep a valid API key for customer 'dev' in this file (created if missing or invalid)");
        return new Command("setup", "Apply migrations, upload the demo model if absent, price unpriced models, create a dev key.") { devKeyFile }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                Console.Error.WriteLine("database: migrated");
                await UploadDemoModelAsync(cli, cancellationToken);
                await PriceModelsAsync(cli, cancellationToken);
                if (parse.GetValue(devKeyFile) is { } keyFile)
                {
                    await EnsureDevKeyAsync(cli, keyFile, cancellationToken);
                }

                return 0;
            });
    }

    private static async Task UploadDemoModelAsync(CliContext cli, CancellationToken cancellationToken)
    {
        var demo = cli.ModelStorage.Models.FirstOrDefault(m => m.Id == DemoModelId && !m.IsLocal);
        if (demo is null)
        {
            return;
        }

        if (await cli.IsUploadedAsync(demo, cancellationToken))
        {
            Console.Error.WriteLine($"model '{demo.Id}': already in blob storage");
            return;
        }

        string folder = Path.Combine(Path.GetTempPath(), "serverless-demo-" + Guid.NewGuid().ToString("N"));
        try
        {
            DemoModelWriter.Write(folder);
            await cli.ModelUploader.UploadAsync(folder, demo.Id, ProgressPrinter.Create(), cancellationToken);
            Console.Error.WriteLine($"model '{demo.Id}': demo model written and uploaded");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task PriceModelsAsync(CliContext cli, CancellationToken cancellationToken)
    {
        foreach (var model in cli.ModelStorage.Models)
        {
            if (await cli.Prices.CurrentAsync(model.Id, cancellationToken) is null)
            {
                var price = await cli.Prices.SetAsync(model.Id, DemoInputPrice, DemoOutputPrice, DemoBatchDiscount, null, cancellationToken);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"price '{model.Id}': set to {price.InputMicroUsdPerMillion} / {price.OutputMicroUsdPerMillion} micro-USD per million input / output tokens (version {price.Id})"));
            }
        }
    }

    private static async Task EnsureDevKeyAsync(CliContext cli, string keyFile, CancellationToken cancellationToken)
    {
        bool valid = File.Exists(keyFile)
            && (await cli.Keys.AuthenticateAsync("Bearer " + (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim(), cancellationToken)).Succeeded;
        if (valid)
        {
            Console.Error.WriteLine($"dev key: {keyFile} is valid");
            return;
        }

        // The local developer's own key: it may also manage keys in the dashboard.
        var created = await cli.Keys.CreateAsync("dev", "dev", null, null, ApiKeyPermissions.All, cancellationToken);
        await File.WriteAllTextAsync(keyFile, created.Key + "\n", cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        Console.Error.WriteLine($"dev key: created {created.Info.KeyId} for customer 'dev', written to {keyFile}");
    }
}
