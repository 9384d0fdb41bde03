namespace Serverless.Core.Models;

/// <summary>The JSON shape of manifest.json; kept apart from <see cref="ModelManifest"/> so the
/// record can validate and derive values instead of trusting what storage returns.</summary>
internal sealed class ModelManifestDocument
{
    public int SchemaVersion { get; set; }

    public string? ModelId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public long TotalSize { get; set; }

    public string? ContentHash { get; set; }

    public List<ModelFileEntry>? Files { get; set; }
}
