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

    // Output not sent yet because it may have been a tool call; null once sent (or when no tool may be called).
    private StringBuilder? _held;

    private PipeWriter Pipe => Response.BodyWriter;

    public override async Task<string?> ReceiveAsync(TextGeneration generation, StoredCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(generation);
        var aborted = Call.Aborted;
        var writer = _writer = WriterFor(completion);
        StartStream();
        var pipe = Pipe;

        // When the model may call tools, its output is held back while it may still be a call (all of it when it must
        // call): calls are sent as delta.tool_calls once the output is complete, an answer in text as it comes.
        var tools = Request.Tools is { MayCall: true } mayCall ? mayCall : null;
        var text = Idempotent || tools is not null ? new StringBuilder() : null;
        _held = tools is null ? null : new StringBuilder();
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
                if (_held is not null)
                {
                    _held.Append(piece);
                    if (tools!.MustCall || ToolSyntax!.MayBeCall(_held.ToString()))
                    {
                        continue;
                    }

                    piece = _held.ToString();
                    _held = null;
                }

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
        WriteOutput(writer, completion, _held?.ToString());
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
        WriteOutput(writer, result, result.Text);

        writer.WriteFinish(pipe, result.Finish, result.PromptTokens, result.CompletionTokens, receipt);
        CompletionWriter.WriteDone(pipe);
        await pipe.FlushAsync(Call.Aborted);
    }

    // What is left to send before the finish chunk: the calls, or text held back because it might have been one.
    private void WriteOutput(CompletionWriter writer, StoredCompletion completion, string? unsent)
    {
        if (completion.ToolCalls.Count > 0)
        {
            writer.WriteToolCallChunks(Pipe, completion.ToolCalls);
        }
        else if (!string.IsNullOrEmpty(unsent))
        {
            writer.WritePieceChunk(Pipe, unsent);
        }
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
