using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Serverless.Core.Models;

/// <summary>
/// What a model upload consists of. Written to blob storage after every file, so its presence means
/// the upload finished, and used by the cache to verify each downloaded file.
/// </summary>
public sealed class ModelManifest
{
    /// <summary>Name of the manifest blob under a model's prefix.</summary>
    public const string BlobName = "manifest.json";

    private const int SchemaVersion = 1;

    public ModelManifest(string modelId, IReadOnlyList<ModelFileEntry> files, DateTimeOffset createdAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ArgumentNullException.ThrowIfNull(files);
        ValidateFiles(files);

        ModelId = modelId;
        // Sorted so that the same content always serializes and hashes the same way.
        Files = [.. files.OrderBy(f => f.Name, StringComparer.Ordinal)];
        CreatedAt = createdAt;
        ContentHash = ComputeContentHash();
    }

    public string ModelId { get; }

    public IReadOnlyList<ModelFileEntry> Files { get; }

    public DateTimeOffset CreatedAt { get; }

    public long TotalSize => Files.Sum(f => f.Size);

    /// <summary>
    /// Lower-case hex SHA-256 over the sorted (name, size, sha256) lines. It ignores the model id and
    /// the upload time, so uploading identical content again keeps the same cache folder.
    /// </summary>
    public string ContentHash { get; }

    /// <summary>Short form of <see cref="ContentHash"/> used as the cache folder name.</summary>
    public string Version => ContentHash[..16];

    public string ToJson()
    {
        var document = new ModelManifestDocument
        {
            SchemaVersion = SchemaVersion,
            ModelId = ModelId,
            CreatedAt = CreatedAt,
            TotalSize = TotalSize,
            ContentHash = ContentHash,
            Files = [.. Files],
        };
        return JsonSerializer.Serialize(document, ModelManifestJsonContext.Default.ModelManifestDocument);
    }

    /// <summary>Parses and validates a manifest.</summary>
    /// <exception cref="FormatException">The text is not a valid manifest.</exception>
    public static ModelManifest Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        ModelManifestDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(json, ModelManifestJsonContext.Default.ModelManifestDocument);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Manifest is not valid JSON: {ex.Message}", ex);
        }

        if (document is null)
        {
            throw new FormatException("Manifest is empty.");
        }

        if (document.SchemaVersion != SchemaVersion)
        {
            throw new FormatException(string.Create(
                CultureInfo.InvariantCulture, $"Manifest schema version {document.SchemaVersion} is not supported (expected {SchemaVersion})."));
        }

        if (string.IsNullOrWhiteSpace(document.ModelId) || document.Files is null)
        {
            throw new FormatException("Manifest lacks modelId or files.");
        }

        try
        {
            // The stored contentHash is informational; the hash is always recomputed from the file list.
            return new ModelManifest(document.ModelId, document.Files, document.CreatedAt);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException(ex.Message, ex);
        }
    }

    /// <summary>
    /// True when <paramref name="name"/> is a safe relative path: '/' separators, no empty, '.' or '..'
    /// segments, no backslashes or control characters. A manifest comes from storage, so a name must
    /// never be able to point outside the folder it is downloaded into.
    /// </summary>
    public static bool IsValidFileName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 1024)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (char.IsControl(c) || c is '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|')
            {
                return false;
            }
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    private static void ValidateFiles(IReadOnlyList<ModelFileEntry> files)
    {
        // Case-insensitive because the cache may live on a case-insensitive file system.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in files)
        {
            ArgumentNullException.ThrowIfNull(file, nameof(files));
            if (!IsValidFileName(file.Name))
            {
                throw new ArgumentException($"Invalid file name '{file.Name}' in manifest.", nameof(files));
            }

            if (ModelCacheLayout.IsReservedName(file.Name))
            {
                throw new ArgumentException($"File name '{file.Name}' is reserved by the model cache.", nameof(files));
            }

            if (!seen.Add(file.Name))
            {
                throw new ArgumentException($"File '{file.Name}' appears more than once in manifest.", nameof(files));
            }

            if (file.Size < 0)
            {
                throw new ArgumentException($"File '{file.Name}' has a negative size.", nameof(files));
            }

            if (!IsSha256Hex(file.Sha256))
            {
                throw new ArgumentException($"File '{file.Name}' has an invalid SHA-256 '{file.Sha256}'.", nameof(files));
            }
        }
    }

    private static bool IsSha256Hex(string? value) =>
        value is { Length: 64 } && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    private string ComputeContentHash()
    {
        var canonical = new StringBuilder();
        foreach (var file in Files)
        {
            canonical.Append(CultureInfo.InvariantCulture, $"{file.Sha256} {file.Size} {file.Name}\n");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }
}
