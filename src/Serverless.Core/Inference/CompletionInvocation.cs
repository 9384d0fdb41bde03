using Serverless.Core.Http;

namespace Serverless.Core.Inference;

/// <summary>A completion asked for without an HTTP exchange (a line of a batch): who asks, under which request id, for what.</summary>
public sealed record CompletionInvocation
{
    public required ApiCaller Caller { get; init; }

    /// <summary>The ledger's request id. Stable across attempts for a batch line, so running it again resumes rather than bills twice.</summary>
    public required string RequestId { get; init; }

    public string? BatchId { get; init; }

    public required CompletionKind Kind { get; init; }

    public required GenerationRequest Request { get; init; }

    public required Func<LoadedModel, int[]> BuildPrompt { get; init; }

    /// <summary>
    /// Stores the finished completion before its usage record is written. If it throws, the request is not settled:
    /// its reservation stays, and running the same request id again takes it over.
    /// </summary>
    public Func<CompletionResult, Task>? BeforeSettleAsync { get; init; }
}
