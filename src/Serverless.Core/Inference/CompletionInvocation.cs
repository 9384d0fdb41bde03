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

    public required PromptText Prompt { get; init; }

    /// <summary>
    /// Turns the finished completion into what the ledger stores with its usage record, in the same transaction (a
    /// batch line's output line). Running the request id again then answers with it instead of generating again.
    /// </summary>
    public Func<CompletionResult, string>? ResultToStore { get; init; }
}
