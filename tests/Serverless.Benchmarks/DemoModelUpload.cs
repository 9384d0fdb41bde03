using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Core.Models;
using Serverless.Core.Models.Demo;

namespace Serverless.Benchmarks;

/// <summary>The demo model written to a folder and uploaded to a private Azurite, where the service finds it as in production.</summary>
internal static class DemoModelUpload
{
    public const string ModelId = "demo";

    /// <summary>Writes the model to <paramref name="modelFolder"/> (with the session options applied) and returns the Azurite holding it.</summary>
    public static async Task<AzuriteProcess> StartAsync(string modelFolder, IReadOnlyDictionary<string, string> sessionOptions, CancellationToken cancellationToken)
    {
        DemoModelWriter.Write(modelFolder);
        SessionOptionsPatch.Apply(modelFolder, sessionOptions);

        var azurite = await AzuriteProcess.StartAsync(cancellationToken);
        try
        {
            var storage = new ModelStorageOptions { BlobConnectionString = azurite.ConnectionString };
            var uploader = new ModelBlobUploader(
                BlobServiceClientFactory.Create(azurite.ConnectionString), Options.Create(storage), TimeProvider.System, NullLogger<ModelBlobUploader>.Instance);
            await uploader.UploadAsync(modelFolder, ModelId, cancellationToken: cancellationToken);
            return azurite;
        }
        catch
        {
            azurite.Dispose();
            throw;
        }
    }
}
