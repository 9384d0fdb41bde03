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

        if (string.IsNullOrWhiteSpace(options.BlobConnectionString))
        {
            errors.Add("ModelStorage:BlobConnectionString is required.");
        }

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

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
