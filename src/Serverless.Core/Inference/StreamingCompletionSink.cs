using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>
/// A completion streamed as server-sent events: each piece is sent as it is generated, a client that goes away
/// stops the generation, and the usage record is committed before the finish chunk (with usage and receipt) and
/// [DONE]; a record that cannot be written ends the stream with an error event instead.
/// </summary>
internal sealed class StreamingCompletionSink(ApiCall call, CompletionKind kind, GenerationRequest request, string bodyHash, PromptText prompt, MeteringService metering, UsageReceipts receipts, long started)
    : HttpCompletionSink(call, kind, request, bodyHash, prompt, metering, receipts, started)
{
    private CompletionWriter? _writer;

    private PipeWriter Pipe => Response.BodyWriter;

    public override async Task<string?> ReceiveAsync(TextGeneration generation, StoredCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(generation);
        var aborted = Call.Aborted;
        var writer = _writer = WriterFor(completion);
        StartStream();
        var pipe = Pipe;
        var text = Idempotent ? new StringBuilder() : null;
        try
        {
            writer.WriteRoleChunk(pipe);
            if (!Delivered(await pipe.FlushAsync(aborted)))
            {
                generation.Abandon();
            }

            while (generation.TryReadNext(aborted, out string piece))
            {
                text?.Append(piece);
                writer.WritePieceChunk(pipe, piece);
                if (!Delivered(await pipe.FlushAsync(aborted)))
                {
                    generation.Abandon();
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            generation.Abandon();
        }

        return text?.ToString();
    }

    /// <summary>The stream ended where the client left it: nothing more to send, nothing to throw.</summary>
    public override void Stopped()
    {
    }

    public override async Task SettlementFailedAsync(ApiException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);

        // Without a durable record there is no [DONE]: the client sees the stream fail, not succeed.
        CompletionWriter.WriteErrorEvent(Pipe, exception.Message, exception.Type, exception.Code);
        await Pipe.FlushAsync(CancellationToken.None);
    }

    public override async Task DeliverAsync(StoredCompletion completion, Settlement? settlement, RequestLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(ledger);
        var writer = _writer ?? throw new InvalidOperationException("The stream was not started.");
        writer.WriteFinish(Pipe, completion.Finish, completion.PromptTokens, completion.CompletionTokens, settlement is null ? null : Receipts.Create(ledger.CustomerId, settlement));
        CompletionWriter.WriteDone(Pipe);
        await Pipe.FlushAsync(Call.Aborted);
    }

    protected override async Task ReplayAsync(StoredCompletion result, CompletionWriter writer, string receipt)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(writer);
        StartStream();
        var pipe = Pipe;
        writer.WriteRoleChunk(pipe);
        if (result.Text.Length > 0)
        {
            writer.WritePieceChunk(pipe, result.Text);
        }

        writer.WriteFinish(pipe, result.Finish, result.PromptTokens, result.CompletionTokens, receipt);
        CompletionWriter.WriteDone(pipe);
        await pipe.FlushAsync(Call.Aborted);
    }

    private static bool Delivered(FlushResult flush) => !flush.IsCanceled && !flush.IsCompleted;

    private void StartStream()
    {
        var response = Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        Call.Http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }
}
