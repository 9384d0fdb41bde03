namespace Serverless.Core.Metering;

/// <summary>
/// A POST made with an Idempotency-Key: the hash of its body and, once it completed, the result to replay
/// to a retry (which is not billed again).
/// </summary>
public sealed class IdempotencyEntry
{
    public required string CustomerId { get; set; }

    public required string Key { get; set; }

    /// <summary>SHA-256 of the method, path and body, hex.</summary>
    public required string RequestHash { get; set; }

    public required string RequestId { get; set; }

    /// <summary>The stored result as JSON once completed; null while the first attempt runs.</summary>
    public string? Result { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
