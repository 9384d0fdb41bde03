using Serverless.Core.Http;

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

    /// <summary>
    /// Set for a line of a batch: priced with the batch discount, exempt from the per-minute rate limits (budgets
    /// still apply), and resumable: admitting a request id that is already reserved takes the reservation over,
    /// and one that is already settled answers <see cref="AdmissionStatus.AlreadySettled"/>, so running a line
    /// again after a crash never reserves or bills it twice.
    /// </summary>
    public string? BatchId { get; init; }

    /// <summary>An Idempotency-Key sent with the request, with the hash of the request it came with.</summary>
    public IdempotencyClaim? Idempotency { get; init; }

    /// <summary>For AlreadySettled: the record the request id already has.</summary>
    public Settlement? Settlement { get; init; }

    /// <summary>True when the reservation existed (a batch line run again) and was taken over rather than created.</summary>
    public bool Resumed { get; init; }

    /// <summary>
    /// Set when nothing of the request reaches the client before its settlement has committed (a whole, non-streamed
    /// response; every way out of it settles first): then the admission's commit is not fsynced on its own, since
    /// the settlement's fsync makes it durable too (SQLite's WAL is written and synced in order). Only a machine
    /// failure between the two can lose it, and with it a request that never answered. A streamed response sends
    /// tokens before it settles, so its admission is synced as before. Saves one fsync per request.
    /// </summary>
    public bool SyncedBySettlement { get; init; }
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

    /// <summary>A batch line whose request id already has its usage record; nothing was reserved.</summary>
    AlreadySettled,
}

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

    /// <summary>For AlreadySettled: the record the request id already has.</summary>
    public Settlement? Settlement { get; init; }

    /// <summary>True when the reservation existed (a batch line run again) and was taken over rather than created.</summary>
    public bool Resumed { get; init; }
}
