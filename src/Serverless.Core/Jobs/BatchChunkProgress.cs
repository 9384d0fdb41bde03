namespace Serverless.Core.Jobs;

/// <summary>How far one chunk of a running batch got; written by its activity, idempotently, as it goes.</summary>
public sealed class BatchChunkProgress
{
    public required string BatchId { get; set; }

    public int Chunk { get; set; }

    public int Completed { get; set; }

    public int Failed { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
