namespace Serverless.Core.Metering;

/// <summary>
/// One request's usage: the ledger's unit of truth for money. Append-only; a correction is a new record
/// (with its own request id) that names the record it corrects.
/// </summary>
public sealed class UsageRecord
{
    public long Id { get; set; }

    public required string RequestId { get; set; }

    public required string KeyId { get; set; }

    public required string CustomerId { get; set; }

    public required string Model { get; set; }

    public long PromptTokens { get; set; }

    public long CompletionTokens { get; set; }

    /// <summary>Prompt tokens served from a prompt cache (always 0 until caching exists).</summary>
    public long CachedPromptTokens { get; set; }

    /// <summary>The price book entry the cost was computed with (0 when the model had no price).</summary>
    public long PriceVersion { get; set; }

    public long CostMicroUsd { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset EndedAt { get; set; }

    /// <summary>One of <see cref="UsageOutcome"/>.</summary>
    public required string Outcome { get; set; }

    public required string InstanceId { get; set; }

    /// <summary>The batch this request belongs to, if any.</summary>
    public string? BatchId { get; set; }

    /// <summary>For a correction, the request id of the record it corrects.</summary>
    public string? CorrectsRequestId { get; set; }
}
