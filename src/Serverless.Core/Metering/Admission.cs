namespace Serverless.Core.Metering;

/// <summary>What a request asks of the ledger before it may generate.</summary>
public sealed record AdmissionRequest
{
    public required string RequestId { get; init; }

    public required string KeyId { get; init; }

    public required string CustomerId { get; init; }

    /// <summary>The model, or null for a request that only counts against the request rate (no generation).</summary>
    public string? Model { get; init; }

    public long PromptTokens { get; init; }

    public long MaxTokens { get; init; }

    public string? BatchId { get; init; }

    /// <summary>An Idempotency-Key sent with the request, with the hash of the request it came with.</summary>
    public IdempotencyClaim? Idempotency { get; init; }
}

public sealed record IdempotencyClaim(string Key, string RequestHash);

public enum AdmissionStatus
{
    Admitted,
    RateLimited,
    InsufficientQuota,
    IdempotencyReplay,
    IdempotencyConflict,
    IdempotencyInProgress,
}

/// <summary>Remaining allowance in the current one-minute window (the tighter of key and customer).</summary>
public sealed record RateLimitState(long LimitRequests, long RemainingRequests, long LimitTokens, long RemainingTokens, DateTimeOffset ResetsAt);

/// <summary>The ledger's answer: admitted with a reservation, or why not.</summary>
public sealed record Admission
{
    public required AdmissionStatus Status { get; init; }

    public RateLimitState? RateLimits { get; init; }

    /// <summary>The open reservation (Admitted only); settling it completes the request's record.</summary>
    public Reservation? Reservation { get; init; }

    /// <summary>Why the request was refused, in words for the client.</summary>
    public string? Reason { get; init; }

    /// <summary>For IdempotencyReplay: the stored result of the first request.</summary>
    public string? StoredResult { get; init; }

    public IdempotencyClaim? Idempotency { get; init; }
}
