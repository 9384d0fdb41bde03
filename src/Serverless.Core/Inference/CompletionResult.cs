using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>What <see cref="CompletionService.CompleteAsync"/> produced: the whole completion and its record, or the note that the request id was already settled.</summary>
public sealed record CompletionResult
{
    public required string RequestId { get; init; }

    /// <summary>The generation; null when <see cref="AlreadySettled"/>.</summary>
    public StoredCompletion? Completion { get; init; }

    /// <summary>The JSON body a client of the route would have received.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The usage record: written by this call, or the one the request id already had.</summary>
    public Settlement? Settlement { get; init; }

    /// <summary>
    /// The request id had its usage record before this call (nothing was generated or billed), or got it from another
    /// attempt while this one generated (this generation was not billed): <see cref="StoredResult"/> is the answer.
    /// </summary>
    public bool AlreadySettled { get; init; }

    /// <summary>What the ledger holds with the record (<see cref="CompletionInvocation.ResultToStore"/>); null when the record has nothing stored.</summary>
    public string? StoredResult { get; init; }

    /// <summary>The reservation of an earlier, interrupted attempt was taken over.</summary>
    public bool Resumed { get; init; }
}
