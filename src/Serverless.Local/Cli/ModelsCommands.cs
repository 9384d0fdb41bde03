using System.CommandLine;
using System.Globalization;
using Serverless.Core.Models.Demo;

namespace Serverless.Local.Cli;

/// <summary><c>models list | upload | demo</c>.</summary>
internal static class ModelsCommands
{
    public static Command Create() => new("models", "Models: list the configured ones, upload a model folder, write the demo model.") { List(), Upload(), Demo() };

    private static Command List()
    {
        return new Command("list", "The configured models and whether they are in blob storage (or their local folder).")
            .WithAction(CliNeeds.Services, async (cli, _, cancellationToken) =>
            {
                var storage = cli.ModelStorage;
                foreach (var model in storage.Models)
                {
                    string where = model.IsLocal ? $"local folder {model.LocalPath}" : $"blob {storage.Container}/{model.ResolvedBlobPrefix}";
                    string state = model.IsLocal
                        ? (Directory.Exists(model.LocalPath) ? "present" : "missing")
                        : (await cli.IsUploadedAsync(model, cancellationToken) ? "uploaded" : "not uploaded");
                    Console.WriteLine($"{model.Id,-24} {where,-48} {state}");
                }

                return 0;
            });
    }

    private static Command Upload()
    {
        var folder = new Argument<string>("folder") { Description = "an ONNX Runtime GenAI model folder" };
        var id = CliValues.Text("--id", "id", "the model id to upload it as", required: true);
        return new Command("upload", "Upload a GenAI model folder to blob storage, with a manifest.") { folder, id }
            .WithAction(CliNeeds.Services, async (cli, parse, cancellationToken) =>
            {
                string modelId = parse.GetRequiredValue(id);
                var manifest = await cli.ModelUploader.UploadAsync(parse.GetRequiredValue(folder), modelId, ProgressPrinter.Create(), cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Uploaded '{modelId}': {manifest.Files.Count} files, {manifest.TotalSize:N0} bytes, version {manifest.Version}."));
                if (!cli.ModelStorage.Models.Any(m => m.Id == modelId))
                {
                    Console.WriteLine($"To serve it, configure ModelStorage__Models__<n>__Id={modelId} (see README).");
                }

                return 0;
            });
    }

    private static Command Demo()
    {
        var output = CliValues.Text("--out", "folder", "where to write it", required: true);
        var seed = CliValues.Integer("--seed", "N", $"the seed of its weights (default: {new DemoModelOptions().Seed})");
        var command = new Command("demo", "Write the demo model folder (needs no configuration).") { output, seed };
        command.SetAction(parse =>
        {
            string folder = parse.GetRequiredValue(output);
            DemoModelWriter.Write(folder, parse.GetValue(seed) is { } value ? new DemoModelOptions { Seed = value } : new DemoModelOptions());
            Console.WriteLine($"Demo model written to {Path.GetFullPath(folder)}");
            return 0;
        });
        return command;
    }
}
