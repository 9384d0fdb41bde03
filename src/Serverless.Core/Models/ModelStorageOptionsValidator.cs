using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Models;

internal sealed partial class ModelStorageOptionsValidator : IValidateOptions<ModelStorageOptions>
{
    private const int MaxParallelism = 64;

    public ValidateOptionsResult Validate(string? name, ModelStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        ValidateEndpoint(options, errors);

        if (options.Container is null || !ContainerName().IsMatch(options.Container) || options.Container.Contains("--", StringComparison.Ordinal))
        {
            errors.Add($"ModelStorage:Container '{options.Container}' is not a valid container name (3-63 lower-case letters, digits and single hyphens).");
        }

        if (string.IsNullOrWhiteSpace(options.CacheDirectory))
        {
            errors.Add("ModelStorage:CacheDirectory is required.");
        }

        if (options.DownloadParallelism is < 1 or > MaxParallelism)
        {
            errors.Add($"ModelStorage:DownloadParallelism must be between 1 and {MaxParallelism}.");
        }

        if (options.UploadParallelism is < 1 or > MaxParallelism)
        {
            errors.Add($"ModelStorage:UploadParallelism must be between 1 and {MaxParallelism}.");
        }

        // Case-insensitive: two ids differing only in case would share a cache folder on some file systems.
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in options.Models)
        {
            errors.AddRange(model.Validate());
            if (!ids.Add(model.Id))
            {
                errors.Add($"Model id '{model.Id}' is configured more than once.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateEndpoint(ModelStorageOptions options, List<string> errors)
    {
        bool hasConnectionString = !string.IsNullOrWhiteSpace(options.BlobConnectionString);
        if (hasConnectionString == options.UsesIdentity)
        {
            errors.Add(hasConnectionString
                ? "Set either ModelStorage:BlobConnectionString (Azurite, account keys) or ModelStorage:BlobServiceUri (managed identity), not both."
                : "ModelStorage:BlobConnectionString or ModelStorage:BlobServiceUri is required.");
        }

        // Tokens are only sent over TLS (Azure.Core refuses otherwise), and a SAS query would be a credential in a setting.
        if (options.UsesIdentity
            && (!Uri.TryCreate(options.BlobServiceUri, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || !string.IsNullOrEmpty(uri.Query)))
        {
            // The value is not echoed: a query would be a SAS token, and this message reaches the logs.
            errors.Add("ModelStorage:BlobServiceUri must be an https URI without a query, e.g. https://<account>.blob.core.windows.net.");
        }

        if (!string.IsNullOrWhiteSpace(options.ManagedIdentityClientId))
        {
            if (!Guid.TryParse(options.ManagedIdentityClientId, out _))
            {
                errors.Add("ModelStorage:ManagedIdentityClientId must be the client id (a GUID) of a user-assigned managed identity.");
            }

            // A client id next to a connection string means the operator believes an identity is in use when it is not.
            if (!options.UsesIdentity)
            {
                errors.Add("ModelStorage:ManagedIdentityClientId is only used with ModelStorage:BlobServiceUri; set that, or remove the client id.");
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
