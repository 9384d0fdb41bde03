using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Metering;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// The path every completion takes, whichever route it came in on: scope check, model, prompt tokens,
/// context check, admission by the ledger (rate limits, budgets, reservation), a generation slot,
/// generation, the usage record, and the response (whole or streamed). The usage record is committed
/// before the response completes: before a whole body is sent, before a stream's [DONE]. Batch lines take the same
/// path without an HTTP exchange (<see cref="CompleteAsync"/>).
/// </summary>
public sealed partial class CompletionService(
    ModelRegistry models,
    GenerationGate gate,
    PromptGate promptGate,
    InferenceMetrics metrics,
    MeteringService metering,
    UsageReceipts receipts,
    IOptions<InferenceOptions> options,
    TimeProvider time,
    ILogger<CompletionService> logger)
{
    public const string ModelLoadHeader = "x-model-load-ms";
    public const string ProcessingHeader = "openai-processing-ms";
    public const string IdempotencyHeader = "Idempotency-Key";
    public const string ReplayHeader = "x-idempotent-replay";

    /// <summary>W3C Server-Timing: "ledger;dur=…", the milliseconds a whole response waited on the ledger (admission and settlement).</summary>
    public const string ServerTimingHeader = "Server-Timing";

    private const int MaxIdempotencyKeyLength = 255;

    private readonly InferenceOptions _options = options.Value;

    public long MaxRequestBodyBytes => _options.MaxRequestBodyBytes;

    public async Task RunAsync(ApiCall call, CompletionKind kind, GenerationRequest request, string bodyHash, PromptText promptText)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(promptText);
        var started = Stopwatch.GetTimestamp();
        var caller = call.RequireCaller();
        var idempotency = IdempotencyClaimOf(call, kind, bodyHash);
        var (model, prompt, maxTokens) = await PrepareAsync(caller, request, promptText, background: false, call.Aborted,
            loadMs => call.Http.Response.Headers[ModelLoadHeader] = loadMs.ToString(CultureInfo.InvariantCulture));

        // The slot comes first: a reservation then always means "generating now", so a request queued for a
        // slot holds no budget, and one whose instance dies while queued was never admitted.
        using var slot = await gate.EnterAsync(caller, call.Aborted);
        var ledger = metering.Enabled
            ? await AdmitAsync(call, caller, request, prompt.Length, maxTokens, idempotency)
            : RequestLedger.Unmetered(caller.CustomerId, time);
        if (ledger is null)
        {
            // Answered from the idempotency store.
            return;
        }

        try
        {
            using var generation = new TextGeneration(model, prompt, new SamplingSettings(maxTokens, request.Temperature, request.TopP, request.TopK, request.Seed), request.Stop);
            string id = Ids.New(kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-");
            long created = time.GetUtcNow().ToUnixTimeSeconds();
            var writer = new CompletionWriter(kind, id, created, request.Model, request.IncludeUsage);
            var result = new StoredCompletion(kind, id, created, request.Model, call.RequestId);
            try
            {
                if (request.Stream)
                {
                    await StreamAsync(call, generation, writer, ledger, result);
                }
                else
                {
                    await RespondWholeAsync(call, generation, writer, ledger, result, started);
                }
            }
            catch (Exception) when (!ledger.Settled)
            {
                // Generation started and broke: prompt billed, nothing generated billed (the stated policy).
                await ledger.SettleQuietlyAsync(call.Aborted.IsCancellationRequested ? UsageOutcome.ClientDisconnected : UsageOutcome.FailedAfterStart,
                    call.Aborted.IsCancellationRequested ? generation.CompletionTokens : 0);
                throw;
            }
            finally
            {
                metrics.Record(request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
            }

            LogCompleted(logger, call.RequestId, request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
        }
        finally
        {
            // Turned away before generating (a generator that would not start): nothing to bill.
            await ledger.SettleQuietlyAsync(UsageOutcome.Rejected, 0);
        }
    }

    /// <summary>
    /// The same path without an HTTP exchange, for a line of a batch: the same checks, limits, budget reservation and
    /// settlement, with the batch's id on the reservation (batch price, no per-minute rate limits, resumable) and the
    /// whole response body as the result. Refusals are thrown as the <see cref="ApiException"/> the route would answer.
    /// </summary>
    /// <remarks>
    /// A request id that already has its usage record comes back as <see cref="CompletionResult.AlreadySettled"/>
    /// without generating, with what was stored with the record (<see cref="CompletionInvocation.ResultToStore"/>).
    /// </remarks>
    public async Task<CompletionResult> CompleteAsync(CompletionInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var request = invocation.Request;
        var (model, prompt, maxTokens) = await PrepareAsync(invocation.Caller, request, invocation.Prompt, background: true, cancellationToken, null);

        using var slot = await gate.EnterBackgroundAsync(invocation.Caller, cancellationToken);
        var admission = await metering.AdmitAsync(new AdmissionRequest
        {
            RequestId = invocation.RequestId,
            KeyId = invocation.Caller.KeyId,
            CustomerId = invocation.Caller.CustomerId,
            Model = request.Model,
            PromptTokens = prompt.Length,
            MaxTokens = maxTokens,
            BatchId = invocation.BatchId,
        });
        switch (admission.Status)
        {
            case AdmissionStatus.RateLimited:
                throw metering.RateLimited(admission);
            case AdmissionStatus.InsufficientQuota:
                throw MeteringService.InsufficientQuota(admission);
            case AdmissionStatus.AlreadySettled:
                return new CompletionResult { RequestId = invocation.RequestId, AlreadySettled = true, Settlement = admission.Settlement, StoredResult = admission.Settlement!.BatchResult };
            case AdmissionStatus.Admitted:
                break;
            default:
                throw new InvalidOperationException($"Unexpected admission {admission.Status} for {invocation.RequestId}.");
        }

        if (admission.Resumed)
        {
            LogResumed(logger, invocation.RequestId);
        }

        var ledger = new RequestLedger(metering, admission, null, time);
        try
        {
            using var generation = new TextGeneration(model, prompt, new SamplingSettings(maxTokens, request.Temperature, request.TopP, request.TopK, request.Seed), request.Stop);
            var kind = invocation.Kind;
            var result = new StoredCompletion(kind, Ids.New(kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-"), time.GetUtcNow().ToUnixTimeSeconds(), request.Model, invocation.RequestId);
            var text = new StringBuilder();
            try
            {
                while (generation.TryReadNext(cancellationToken, out string piece))
                {
                    text.Append(piece);
                }

                if (generation.FinishReason == FinishReason.Cancelled)
                {
                    await ledger.SettleAsync(UsageOutcome.ClientDisconnected, generation.CompletionTokens);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
            catch (Exception) when (!ledger.Settled)
            {
                await ledger.SettleQuietlyAsync(UsageOutcome.FailedAfterStart, 0);
                throw;
            }
            finally
            {
                metrics.Record(request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
            }

            result = result with { Text = text.ToString(), Finish = generation.FinishReason, PromptTokens = generation.PromptTokens, CompletionTokens = generation.CompletionTokens };
            var body = new ArrayBufferWriter<byte>(result.Text.Length + 512);
            new CompletionWriter(kind, result.Id, result.Created, result.Model, includeUsage: false)
                .WriteCompletion(body, result.Text, result.Finish, result.PromptTokens, result.CompletionTokens);
            var completion = new CompletionResult { RequestId = invocation.RequestId, Completion = result, Body = body.WrittenMemory, Resumed = admission.Resumed };
            string? stored = invocation.ResultToStore?.Invoke(completion);
            // Batch lines are always metered (the batch path is the ledger's own; Metering:Enabled only bypasses live requests).
            var settlement = await ledger.SettleAsync(OutcomeOf(generation.FinishReason), generation.CompletionTokens, batchResult: stored)
                ?? throw new InvalidOperationException("A batch line's ledger recorded nothing.");
            LogCompleted(logger, invocation.RequestId, request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
            if (!settlement.SettledHere)
            {
                // Another attempt holding the same request id recorded it first: its record and output are the answer.
                return completion with { Settlement = settlement, AlreadySettled = true, StoredResult = settlement.BatchResult };
            }

            return completion with { Settlement = settlement, StoredResult = stored };
        }
        finally
        {
            // Turned away before generating (a generator that would not start): nothing to bill.
            await ledger.SettleQuietlyAsync(UsageOutcome.Rejected, 0);
        }
    }

    /// <summary>
    /// Admission by the ledger: the request's reservation, or null when an earlier request with the same
    /// Idempotency-Key has been replayed. Refusals throw.
    /// </summary>
    private async Task<RequestLedger?> AdmitAsync(ApiCall call, ApiCaller caller, GenerationRequest request, int promptTokens, int maxTokens, IdempotencyClaim? idempotency)
    {
        var admitting = Stopwatch.GetTimestamp();
        var admission = await metering.AdmitAsync(new AdmissionRequest
        {
            RequestId = call.RequestId,
            KeyId = caller.KeyId,
            CustomerId = caller.CustomerId,
            Model = request.Model,
            PromptTokens = promptTokens,
            MaxTokens = maxTokens,
            Idempotency = idempotency,
            SyncedBySettlement = !request.Stream,
        });
        var waited = Stopwatch.GetElapsedTime(admitting);
        if (admission.Status is AdmissionStatus.Admitted or AdmissionStatus.RateLimited)
        {
            // Taken from the rate windows, or refused by them: either way the dispatcher need not count it again.
            call.MarkCountedAgainstRate();
        }

        if (admission.RateLimits is { } limits)
        {
            metering.WriteRateLimitHeaders(call.Http.Response, limits);
        }

        switch (admission.Status)
        {
            case AdmissionStatus.RateLimited:
                throw metering.RateLimited(admission);
            case AdmissionStatus.InsufficientQuota:
                throw MeteringService.InsufficientQuota(admission);
            case AdmissionStatus.IdempotencyConflict:
            case AdmissionStatus.IdempotencyInProgress:
                throw new ApiException(StatusCodes.Status409Conflict, "invalid_request_error", "idempotency_key_conflict", admission.Reason!, IdempotencyHeader);
            case AdmissionStatus.IdempotencyReplay:
                await ReplayAsync(call, caller.CustomerId, request, admission.StoredResult!);
                return null;
        }

        return new RequestLedger(metering, admission, idempotency, time, waited);
    }

    private static string ServerTiming(RequestLedger ledger) =>
        string.Create(CultureInfo.InvariantCulture, $"ledger;dur={ledger.WaitedForLedger.TotalMilliseconds:0.###}");

    /// <summary>Tokens of a text prompt, or the caller's token ids after checking they exist in the vocabulary.</summary>
    public static int[] PromptTokens(LoadedModel model, CompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        if (request.PromptTokens is { } tokens)
        {
            int bad = tokens.FirstOrDefault(t => t >= model.VocabSize, -1);
            if (bad >= 0)
            {
                throw ApiException.InvalidValue("prompt", string.Create(CultureInfo.InvariantCulture,
                    $"Token id {bad} is outside the vocabulary of '{model.Id}' ({model.VocabSize} tokens)."));
            }

            return [.. tokens];
        }

        return model.Encode(request.Prompt ?? string.Empty);
    }

    // Everything before admission: the model exists and the key may use it, the model is loaded, the prompt fits.
    private async Task<(LoadedModel Model, int[] Prompt, int MaxTokens)> PrepareAsync(
        ApiCaller caller, GenerationRequest request, PromptText promptText, bool background, CancellationToken cancellationToken, Action<long>? loaded)
    {
        if (!models.Exists(request.Model))
        {
            throw ApiException.ModelNotFound(request.Model);
        }

        if (!caller.CanUse(request.Model))
        {
            throw ApiException.Forbidden($"This API key is not allowed to use the model '{request.Model}'.", "model_not_allowed");
        }

        var acquisition = await models.AcquireAsync(request.Model, cancellationToken);
        if (acquisition.LoadMilliseconds is long loadMs)
        {
            loaded?.Invoke(loadMs);
        }

        var model = acquisition.Model;
        if (promptText.Characters > model.MaxPromptCharacters)
        {
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture,
                $"This model's maximum context length is {model.ContextLength} tokens, which can hold at most {model.MaxPromptCharacters} characters of text; the prompt has {promptText.Characters}. Please reduce the prompt."),
                promptText.Param, "context_length_exceeded");
        }

        int[] prompt = await promptGate.TokenizeAsync(promptText, model, background, cancellationToken);
        return (model, prompt, ResolveMaxTokens(model, prompt.Length, request.MaxTokens));
    }

    private int ResolveMaxTokens(LoadedModel model, int promptTokens, int? requested)
    {
        int available = model.ContextLength - promptTokens;
        if (requested is int max)
        {
            if ((long)promptTokens + max > model.ContextLength)
            {
                throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture,
                    $"This model's maximum context length is {model.ContextLength} tokens. However, you requested {(long)promptTokens + max} tokens ({promptTokens} in the prompt, {max} for the completion). Please reduce the prompt or the completion length."),
                    "max_tokens", "context_length_exceeded");
            }

            return max;
        }

        if (available < 1)
        {
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture,
                $"This model's maximum context length is {model.ContextLength} tokens, and the prompt alone has {promptTokens} tokens. Please reduce the prompt."),
                "messages", "context_length_exceeded");
        }

        return Math.Min(_options.DefaultMaxTokens, available);
    }

    private static string OutcomeOf(FinishReason finish) => finish switch
    {
        FinishReason.Length => UsageOutcome.Length,
        FinishReason.Cancelled => UsageOutcome.ClientDisconnected,
        _ => UsageOutcome.Completed,
    };

    private IdempotencyClaim? IdempotencyClaimOf(ApiCall call, CompletionKind kind, string bodyHash)
    {
        string? key = call.Http.Request.Headers[IdempotencyHeader].FirstOrDefault();
        if (key is null)
        {
            return null;
        }

        if (key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(char.IsControl))
        {
            throw ApiException.BadRequest($"The {IdempotencyHeader} header must be 1 to {MaxIdempotencyKeyLength} printable characters.", IdempotencyHeader, "invalid_idempotency_key");
        }

        // Bound to the route and the exact body: the same key with another body is a conflict, not a replay.
        return new IdempotencyClaim(key, $"{kind}:{bodyHash}");
    }

    private async Task RespondWholeAsync(ApiCall call, TextGeneration generation, CompletionWriter writer, RequestLedger ledger, StoredCompletion result, long started)
    {
        var text = new StringBuilder();
        var aborted = call.Aborted;
        while (generation.TryReadNext(aborted, out string piece))
        {
            text.Append(piece);
        }

        if (generation.FinishReason == FinishReason.Cancelled)
        {
            await ledger.SettleAsync(UsageOutcome.ClientDisconnected, generation.CompletionTokens);
            aborted.ThrowIfCancellationRequested();
        }

        result = result with { Text = text.ToString(), Finish = generation.FinishReason, PromptTokens = generation.PromptTokens, CompletionTokens = generation.CompletionTokens };
        var settlement = await ledger.SettleAsync(OutcomeOf(generation.FinishReason), generation.CompletionTokens, result);
        var body = new ArrayBufferWriter<byte>(text.Length + 512);
        writer.WriteCompletion(body, result.Text, generation.FinishReason, generation.PromptTokens, generation.CompletionTokens);
        var response = call.Http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = body.WrittenCount;
        response.Headers[ProcessingHeader] = ((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        if (settlement is not null)
        {
            response.Headers[UsageReceipts.Header] = receipts.Create(ledger.CustomerId, settlement);
            response.Headers[ServerTimingHeader] = ServerTiming(ledger);
        }

        await response.Body.WriteAsync(body.WrittenMemory, aborted);
    }

    private async Task StreamAsync(ApiCall call, TextGeneration generation, CompletionWriter writer, RequestLedger ledger, StoredCompletion result)
    {
        var response = call.Http.Response;
        var aborted = call.Aborted;
        StartStream(call);
        var pipe = response.BodyWriter;
        var text = ledger.Idempotency is null ? null : new StringBuilder();
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

        if (generation.FinishReason == FinishReason.Cancelled)
        {
            // The client left: the record holds the prompt and every token generated until then.
            await ledger.SettleAsync(UsageOutcome.ClientDisconnected, generation.CompletionTokens);
            return;
        }

        Settlement? settlement;
        try
        {
            result = result with { Text = text?.ToString() ?? string.Empty, Finish = generation.FinishReason, PromptTokens = generation.PromptTokens, CompletionTokens = generation.CompletionTokens };
            settlement = await ledger.SettleAsync(OutcomeOf(generation.FinishReason), generation.CompletionTokens, text is null ? null : result);
        }
        catch (ApiException ex)
        {
            // Without a durable record there is no [DONE]: the client sees the stream fail, not succeed.
            CompletionWriter.WriteErrorEvent(pipe, ex.Message, ex.Type, ex.Code);
            await pipe.FlushAsync(CancellationToken.None);
            throw;
        }

        writer.WriteFinish(pipe, generation.FinishReason, generation.PromptTokens, generation.CompletionTokens, settlement is null ? null : receipts.Create(ledger.CustomerId, settlement));
        CompletionWriter.WriteDone(pipe);
        await pipe.FlushAsync(aborted);
    }

    private static void StartStream(ApiCall call)
    {
        var response = call.Http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        call.Http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    private static bool Delivered(FlushResult flush) => !flush.IsCanceled && !flush.IsCompleted;

    /// <summary>Answers a retry with the stored result of the first request; the ledger is not charged again.</summary>
    private async Task ReplayAsync(ApiCall call, string customerId, GenerationRequest request, string stored)
    {
        var result = JsonSerializer.Deserialize(stored, StoredCompletionJsonContext.Default.StoredCompletion)
            ?? throw new InvalidOperationException("Stored idempotent result is empty.");
        var settlement = new Settlement(result.RequestId, result.PromptTokens, result.CompletionTokens, result.PriceVersion, result.CostMicroUsd, UsageOutcome.Completed, SettledHere: false);
        string receipt = receipts.Create(customerId, settlement);
        var writer = new CompletionWriter(result.Kind, result.Id, result.Created, result.Model, request.IncludeUsage);
        var response = call.Http.Response;
        response.Headers[ReplayHeader] = "true";
        if (!request.Stream)
        {
            var body = new ArrayBufferWriter<byte>(result.Text.Length + 512);
            writer.WriteCompletion(body, result.Text, result.Finish, result.PromptTokens, result.CompletionTokens);
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json";
            response.Headers[UsageReceipts.Header] = receipt;
            await response.Body.WriteAsync(body.WrittenMemory, call.Aborted);
            return;
        }

        StartStream(call);
        var pipe = response.BodyWriter;
        writer.WriteRoleChunk(pipe);
        if (result.Text.Length > 0)
        {
            writer.WritePieceChunk(pipe, result.Text);
        }

        writer.WriteFinish(pipe, result.Finish, result.PromptTokens, result.CompletionTokens, receipt);
        CompletionWriter.WriteDone(pipe);
        await pipe.FlushAsync(call.Aborted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId}: resuming the reservation of an earlier attempt")]
    private static partial void LogResumed(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId} {Model}: {PromptTokens} prompt + {CompletionTokens} completion tokens, {Finish}")]
    private static partial void LogCompleted(ILogger logger, string requestId, string model, int promptTokens, int completionTokens, FinishReason finish);
}
