namespace Serverless.Core.Jobs;

/// <summary>
/// A batch as the API shows it: what was asked (input file, endpoint, window, metadata), whose it is (customer, and
/// the key it was created with, whose model scope every line is held to), its status and timestamps, and its
/// results. While it runs, request counts come from <see cref="BatchChunkProgress"/>.
/// </summary>
public sealed class BatchJob
{
    public required string Id { get; set; }

    public required string CustomerId { get; set; }

    public required string KeyId { get; set; }

    /// <summary>The creating key's model scope, comma-separated; empty means every model.</summary>
    public required string ModelScope { get; set; }

    public required string Endpoint { get; set; }

    public required string InputFileId { get; set; }

    public required string CompletionWindow { get; set; }

    /// <summary>The metadata object as JSON, or null.</summary>
    public string? Metadata { get; set; }

    /// <summary>One of <see cref="BatchStatus"/>.</summary>
    public required string Status { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? InProgressAt { get; set; }

    public DateTimeOffset? FinalizingAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public DateTimeOffset? FailedAt { get; set; }

    public DateTimeOffset? ExpiredAt { get; set; }

    public DateTimeOffset? CancellingAt { get; set; }

    public DateTimeOffset? CancelledAt { get; set; }

    /// <summary>Requests (non-blank lines) in the input file; known after validation.</summary>
    public int Total { get; set; }

    public int Completed { get; set; }

    public int Failed { get; set; }

    /// <summary>Lines refused by validation (malformed, duplicate custom_id, wrong url...): failed before any chunk ran.</summary>
    public int InvalidLines { get; set; }

    /// <summary>Chunks the valid lines were split into.</summary>
    public int Chunks { get; set; }

    public string? OutputFileId { get; set; }

    public string? ErrorFileId { get; set; }

    /// <summary>Why the batch failed validation: OpenAI's errors object as JSON, or null.</summary>
    public string? Errors { get; set; }
}
