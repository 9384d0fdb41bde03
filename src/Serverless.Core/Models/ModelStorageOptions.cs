namespace Serverless.Core.Models;

/// <summary>Where models are stored and cached; bound from the "ModelStorage" configuration section.</summary>
public sealed class ModelStorageOptions
{
    public const string SectionName = "ModelStorage";

    /// <summary>Azure Storage connection string; the default reaches Azurite on its standard ports.</summary>
    public string BlobConnectionString { get; set; } = "UseDevelopmentStorage=true";

    public string Container { get; set; } = "models";

    /// <summary>
    /// Local folder models are downloaded into. The temp folder is instance-local disk on both
    /// Azure Functions and containers, which is what a per-instance cache wants.
    /// </summary>
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "serverless-models");

    /// <summary>How many files of one model download at the same time.</summary>
    public int DownloadParallelism { get; set; } = 4;

    /// <summary>How many files of one model upload at the same time.</summary>
    public int UploadParallelism { get; set; } = 4;

    /// <summary>The configured models (ModelStorage:Models:0:Id, ...).</summary>
    public IList<ModelDefinition> Models { get; } = new List<ModelDefinition>();
}
