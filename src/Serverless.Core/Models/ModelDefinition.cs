namespace Serverless.Core.Models;

/// <summary>
/// A model the service can serve, by id, and where its files live: either a blob prefix in the
/// model container (the default, the prefix being the id) or a local GenAI model folder.
/// </summary>
public sealed class ModelDefinition
{
    public const int MaxIdLength = 128;

    /// <summary>The model id clients send ("model" in the OpenAI API); also the cache folder name.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Blob name prefix (a virtual folder) of the model in the container; defaults to <see cref="Id"/>.</summary>
    public string? BlobPrefix { get; set; }

    /// <summary>A local ONNX Runtime GenAI model folder; when set the model never touches blob storage.</summary>
    public string? LocalPath { get; set; }

    public bool IsLocal => !string.IsNullOrWhiteSpace(LocalPath);

    public string ResolvedBlobPrefix => string.IsNullOrWhiteSpace(BlobPrefix) ? Id : BlobPrefix.Trim().Trim('/');

    /// <summary>
    /// Ids become folder names in the cache, so they are restricted to characters that are safe in a
    /// path segment on every file system: ASCII letters, digits, '.', '_' and '-', starting with a letter or digit.
    /// </summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= MaxIdLength }
        && char.IsAsciiLetterOrDigit(id[0])
        && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>Problems with this definition, empty when it is usable.</summary>
    public IEnumerable<string> Validate()
    {
        if (!IsValidId(Id))
        {
            yield return $"Model id '{Id}' is invalid: use 1-{MaxIdLength} ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.";
        }

        if (IsLocal && !string.IsNullOrWhiteSpace(BlobPrefix))
        {
            yield return $"Model '{Id}' sets both LocalPath and BlobPrefix; a model is either a local folder or a blob prefix.";
        }

        if (!IsLocal && ResolvedBlobPrefix.Split('/').Any(s => s.Length == 0 || s is "." or ".."))
        {
            yield return $"Model '{Id}' has an invalid BlobPrefix '{BlobPrefix}'.";
        }
    }

    public override string ToString() => IsLocal ? $"{Id} (local {LocalPath})" : $"{Id} (blob {ResolvedBlobPrefix})";
}
