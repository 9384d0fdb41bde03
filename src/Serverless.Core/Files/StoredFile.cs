namespace Serverless.Core.Files;

/// <summary>A file a customer uploaded (or a batch wrote for them): metadata here, content in blob storage.</summary>
public sealed class StoredFile
{
    public required string Id { get; set; }

    public required string CustomerId { get; set; }

    public required string Filename { get; set; }

    /// <summary>One of <see cref="FilePurpose"/>.</summary>
    public required string Purpose { get; set; }

    public long Bytes { get; set; }

    /// <summary>The blob's name in <see cref="FilesOptions.Container"/>.</summary>
    public required string BlobName { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
