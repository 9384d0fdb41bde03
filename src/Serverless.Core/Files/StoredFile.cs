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

    /// <summary>When the file stops existing for its owner (404 from then on; the sweeper deletes it); null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    public bool IsLiveAt(DateTimeOffset now) => ExpiresAt is not { } expires || expires > now;
}
