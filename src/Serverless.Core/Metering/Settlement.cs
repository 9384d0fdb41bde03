namespace Serverless.Core.Metering;

/// <summary>How a reserved request ended, to be written as its usage record.</summary>
public sealed record SettlementRequest
{
    public required Reservation Reservation { get; init; }

    public long CompletionTokens { get; init; }

    /// <summary>One of <see cref="UsageOutcome"/>.</summary>
    public required string Outcome { get; init; }

    public DateTimeOffset EndedAt { get; init; }

    /// <summary>The Idempotency-Key the request came with, and the result to store for replays (completed requests only).</summary>
    public IdempotencyClaim? Idempotency { get; init; }

    public string? IdempotentResult { get; init; }

    /// <summary>
    /// For a batch line that completed: its output line, stored with the record in the same transaction, so the line
    /// can be answered again (a chunk run again after a crash) without generating or billing it again.
    /// </summary>
    public string? BatchResult { get; init; }

    /// <summary>
    /// Settled by someone other than the request itself (the sweeper, for a dead instance), which does not know the
    /// request's Idempotency-Key: an unfinished claim the request holds is found by its request id and released.
    /// </summary>
    public bool Orphaned { get; init; }
}

/// <summary>The usage record as committed (or as already committed by someone else, e.g. the sweeper).</summary>
public sealed record Settlement(string RequestId, long PromptTokens, long CompletionTokens, long PriceVersion, long CostMicroUsd, string Outcome, bool SettledHere)
{
    /// <summary>A batch line's stored output (see <see cref="SettlementRequest.BatchResult"/>), when the record has one.</summary>
    public string? BatchResult { get; init; }
}
