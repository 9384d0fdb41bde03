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
/// before the response completes: before a whole body is sent, before a stream's [DONE].
/// </summary>
public sealed partial class CompletionService(
    ModelRegistry models,
    GenerationGate gate,
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

    public async Task RunAsync(ApiCall call, CompletionKind kind, GenerationRequest request, string bodyHash, Func<LoadedModel, int[]> buildPrompt)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(buildPrompt);
        var started = Stopwatch.GetTimestamp();
        var caller = call.RequireCaller();
        var idempotency = IdempotencyClaimOf(call, kind, bodyHash);
        if (!models.Exists(request.Model))
        {
            throw ApiException.ModelNotFound(request.Model);
        }

        if (!caller.CanUse(request.Model))
        {
            throw ApiException.Forbidden($"This API key is not allowed to use the model '{request.Model}'.", "model_not_allowed");
        }

        var acquisition = await models.AcquireAsync(request.Model, call.Aborted);
        if (acquisition.LoadMilliseconds is long loadMs)
        {
            call.Http.Response.Headers[ModelLoadHeader] = loadMs.ToString(CultureInfo.InvariantCulture);
        }

        var model = acquisition.Model;
        int[] prompt = buildPrompt(model);
        int maxTokens = ResolveMaxTokens(model, prompt.Length, request.MaxTokens);

        // The slot comes first: a reservation then always means "generating now", so a request queued for a
        // slot holds no budget, and one whose instance dies while queued was never admitted.
        using var slot = await gate.EnterAsync(call.Aborted);
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
        });
        var waited = Stopwatch.GetElapsedTime(admitting);
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

    private static string ServerTiming(RequestLedger ledger) =>
        string.Create(CultureInfo.InvariantCulture, $"ledger;dur={ledger.WaitedForLedger.TotalMilliseconds:0.###}");

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

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId} {Model}: {PromptTokens} prompt + {CompletionTokens} completion tokens, {Finish}")]
    private static partial void LogCompleted(ILogger logger, string requestId, string model, int promptTokens, int completionTokens, FinishReason finish);
}
