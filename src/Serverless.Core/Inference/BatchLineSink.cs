using System.Buffers;
using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>
/// A completion for a line of a batch: no HTTP exchange; admitted under the line's stable request id and the batch's
/// id (batch price, no per-minute rate limits, resumable), with the whole response body as the result and the line's
/// output (<see cref="CompletionInvocation.ResultToStore"/>) stored by the ledger with the usage record.
/// </summary>
internal sealed class BatchLineSink(CompletionInvocation invocation, CancellationToken cancellation)
    : CompletionSink(invocation.Caller, invocation.RequestId, invocation.Kind, invocation.Request, invocation.Prompt, cancellation)
{
    private bool _resumed;
    private CompletionResult? _completed;
    private string? _stored;

    /// <summary>What the line produced; set once the pipeline has run to its end.</summary>
    public CompletionResult Result { get; private set; } = null!;

    public override bool Background => true;

    public override AdmissionRequest Admission(AdmissionRequest admission) => admission with { BatchId = invocation.BatchId };

    public override void Admitted(Admission admission)
    {
        ArgumentNullException.ThrowIfNull(admission);
        _resumed = admission.Resumed;
    }

    public override void AlreadySettled(Settlement settlement)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        Result = new CompletionResult { RequestId = RequestId, AlreadySettled = true, Settlement = settlement, StoredResult = settlement.BatchResult };
    }

    public override string? ToRecord(StoredCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var body = new ArrayBufferWriter<byte>(completion.Text.Length + 512);
        new CompletionWriter(Kind, completion.Id, completion.Created, completion.Model, includeUsage: false)
            .WriteCompletion(body, completion);
        _completed = new CompletionResult { RequestId = RequestId, Completion = completion, Body = body.WrittenMemory, Resumed = _resumed };
        _stored = invocation.ResultToStore?.Invoke(_completed);
        return _stored;
    }

    public override Task DeliverAsync(StoredCompletion completion, Settlement? settlement, RequestLedger ledger)
    {
        // Batch lines are always metered, so the ledger recorded something.
        settlement = settlement ?? throw new InvalidOperationException("A batch line's ledger recorded nothing.");
        var completed = _completed ?? throw new InvalidOperationException("A batch line was settled before its result was made.");

        // Another attempt holding the same request id recorded it first: its record and output are the answer.
        Result = settlement.SettledHere
            ? completed with { Settlement = settlement, StoredResult = _stored }
            : completed with { Settlement = settlement, AlreadySettled = true, StoredResult = settlement.BatchResult };
        return Task.CompletedTask;
    }
}
