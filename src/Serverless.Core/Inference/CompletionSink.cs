using System.Text;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>
/// Where a completion goes: who asks for what, and the steps of <see cref="CompletionService"/>'s one pipeline
/// (prepare → slot → admission → generate → settle) that depend on the destination. The pipeline owns their order and
/// the settlement policy; a sink says how the text is received and where the result is delivered: an HTTP response
/// (<see cref="HttpCompletionSink"/>, <see cref="StreamingCompletionSink"/>) or a stored batch line
/// (<see cref="BatchLineSink"/>).
/// </summary>
internal abstract class CompletionSink(ApiCaller caller, string requestId, CompletionKind kind, GenerationRequest request, PromptText prompt, CancellationToken cancellation)
{
    public ApiCaller Caller { get; } = caller;

    /// <summary>The ledger's request id.</summary>
    public string RequestId { get; } = requestId;

    public CompletionKind Kind { get; } = kind;

    public GenerationRequest Request { get; } = request;

    public PromptText Prompt { get; } = prompt;

    /// <summary>How the model writes tool calls; set once the model is known.</summary>
    public ToolCallSyntax? ToolSyntax { get; set; }

    /// <summary>Stops the request: the client left, or the batch's run was cancelled.</summary>
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>
    /// A line of a batch rather than a live request: it waits behind live requests for tokenization and a generation
    /// slot, and it is always metered (the batch path is the ledger's own; Metering:Enabled only bypasses live requests).
    /// </summary>
    public abstract bool Background { get; }

    /// <summary>
    /// True when a failure after generation started is explained by the client having gone away: the record then
    /// holds the tokens generated until then rather than the prompt only.
    /// </summary>
    public virtual bool ClientLeft => false;

    /// <summary>The model had to be loaded for this request, taking this long.</summary>
    public virtual void ModelLoaded(long milliseconds)
    {
    }

    /// <summary>Adds what the destination asks of the ledger (batch id, Idempotency-Key, fsync policy) to the admission.</summary>
    public abstract AdmissionRequest Admission(AdmissionRequest admission);

    /// <summary>The ledger's answer, whatever it was, before the pipeline acts on its status.</summary>
    public virtual void Admitted(Admission admission)
    {
    }

    /// <summary>Answers with the stored result of an earlier request with the same Idempotency-Key.</summary>
    public virtual Task ReplayAsync(string storedResult) =>
        throw new InvalidOperationException($"{RequestId} has no Idempotency-Key to replay.");

    /// <summary>The request id already has its usage record: nothing is generated or billed.</summary>
    public virtual void AlreadySettled(Settlement settlement) =>
        throw new InvalidOperationException($"{RequestId} was settled before it was admitted.");

    /// <summary>
    /// The token loop: pulls the generation until it ends and returns its text, or null when the text was sent
    /// on and not kept. The default keeps the whole text for one response.
    /// </summary>
    public virtual Task<string?> ReceiveAsync(TextGeneration generation, StoredCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(generation);
        var text = new StringBuilder();
        while (generation.TryReadNext(Cancellation, out string piece))
        {
            text.Append(piece);
        }

        return Task.FromResult<string?>(text.ToString());
    }

    /// <summary>
    /// Generation stopped before it ended and was recorded with the tokens so far. A whole response has nobody left
    /// to answer, so by default this throws the cancellation.
    /// </summary>
    public virtual void Stopped() => Cancellation.ThrowIfCancellationRequested();

    /// <summary>What the ledger stores with the usage record, in the same transaction (a batch line's output line); null for nothing.</summary>
    public virtual string? ToRecord(StoredCompletion completion) => null;

    /// <summary>The usage record could not be written; the exception is rethrown after this.</summary>
    public virtual Task SettlementFailedAsync(ApiException exception) => Task.CompletedTask;

    /// <summary>Delivers the finished, settled completion. <paramref name="settlement"/> is null when metering is off.</summary>
    public abstract Task DeliverAsync(StoredCompletion completion, Settlement? settlement, RequestLedger ledger);
}
