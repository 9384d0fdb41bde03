namespace Serverless.Core.Models;

/// <summary>Where models are stored and cached; bound from the "ModelStorage" configuration section.</summary>
public sealed class ModelStorageOptions
{
    public const string SectionName = "ModelStorage";

    /// <summary>The connection string used when neither endpoint setting is given: Azurite on its standard ports.</summary>
    public const string DevelopmentStorageConnectionString = "UseDevelopmentStorage=true";

    /// <summary>
    /// Azure Storage connection string, for Azurite and local runs. Set this or <see cref="BlobServiceUri"/>,
    /// not both; when neither is set, <see cref="DevelopmentStorageConnectionString"/> applies.
    /// </summary>
    public string? BlobConnectionString { get; set; }

    /// <summary>
    /// Blob endpoint reached with a Microsoft Entra token instead of an account key, e.g.
    /// <c>https://&lt;account&gt;.blob.core.windows.net</c>: the managed identity in Azure, <c>az login</c> on a workstation.
    /// </summary>
    public string? BlobServiceUri { get; set; }

    /// <summary>
    /// Client id of the user-assigned managed identity to authenticate with when <see cref="BlobServiceUri"/> is
    /// set. Empty: the default credential chain (system-assigned identity, Azure CLI, ...).
    /// </summary>
    public string? ManagedIdentityClientId { get; set; }

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

    /// <summary>True when storage is reached by token (<see cref="BlobServiceUri"/>) rather than by connection string.</summary>
    public bool UsesIdentity => !string.IsNullOrWhiteSpace(BlobServiceUri);

    // Blank counts as unset: an app setting that exists with an empty value (as in local.settings.sample.json)
    // must not count as a second endpoint.
    internal void UseDevelopmentStorageWhenNoEndpointIsSet()
    {
        if (string.IsNullOrWhiteSpace(BlobConnectionString) && string.IsNullOrWhiteSpace(BlobServiceUri))
        {
            BlobConnectionString = DevelopmentStorageConnectionString;
        }
    }
}
