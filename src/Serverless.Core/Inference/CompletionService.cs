using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Inference;

/// <summary>
/// The one path every completion takes, whichever route or batch line it came from: scope check, model, prompt
/// tokens, context check, a generation slot, admission by the ledger (rate limits, budgets, reservation),
/// generation, the usage record, and delivery to its <see cref="CompletionSink"/>: an HTTP response (whole or
/// streamed) or a stored batch line. The usage record is committed before the result is delivered: before a whole
/// body is sent, before a stream's [DONE], with a batch line's output in the same transaction. Each run is one
/// <c>chat {model}</c> / <c>text_completion {model}</c> span with a child per step (<see cref="CompletionTelemetry"/>).
/// </summary>
public sealed partial class CompletionService(
    ModelRegistry models,
    GenerationGate gate,
    PromptGate promptGate,
    ServerlessMetrics metrics,
    MeteringService metering,
    UsageReceipts receipts,
    IOptions<InferenceOptions> options,
    TimeProvider time,
    ILogger<CompletionService> logger)
{
    private readonly InferenceOptions _options = options.Value;

    public long MaxRequestBodyBytes => _options.MaxRequestBodyBytes;

    /// <summary>A request to a completion route, answered on its HTTP response (whole, or streamed when it asked).</summary>
    public Task RunAsync(ApiCall call, CompletionKind kind, GenerationRequest request, string bodyHash, PromptText promptText) =>
        RunAsync(HttpCompletionSink.For(call, kind, request, bodyHash, promptText, metering, receipts));

    /// <summary>
    /// A line of a batch: the same checks, limits, budget reservation and settlement, with the batch's id on the
    /// reservation (batch price, no per-minute rate limits, resumable) and the whole response body as the result.
    /// Refusals are thrown as the <see cref="ApiException"/> the route would answer.
    /// </summary>
    /// <remarks>
    /// A request id that already has its usage record comes back as <see cref="CompletionResult.AlreadySettled"/>
    /// without generating, with what was stored with the record (<see cref="CompletionInvocation.ResultToStore"/>).
    /// </remarks>
    public async Task<CompletionResult> CompleteAsync(CompletionInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var sink = new BatchLineSink(invocation, cancellationToken);
        await RunAsync(sink);
        return sink.Result;
    }

    private async Task RunAsync(CompletionSink sink)
    {
        using var telemetry = new CompletionTelemetry(sink, models.Exists(sink.Request.Model), metrics);
        try
        {
            await RunAsync(sink, telemetry);
        }
        catch (Exception ex)
        {
            telemetry.Failed(ex);
            throw;
        }
    }

    private async Task RunAsync(CompletionSink sink, CompletionTelemetry telemetry)
    {
        var request = sink.Request;
        var (model, prompt, maxTokens) = await PrepareAsync(sink);
        telemetry.Prepared(maxTokens);

        // The slot comes first: a reservation then always means "generating now", so a request queued for a
        // slot holds no budget, and one whose instance dies while queued was never admitted.
        using var slot = await EnterAsync(sink, telemetry);
        var ledger = await AdmitAsync(sink, prompt.Length, maxTokens);
        if (ledger is null)
        {
            // Answered without generating: an Idempotency-Key replay, or a batch line settled before.
            return;
        }

        try
        {
            var syntax = sink.ToolSyntax = ToolCallSyntax.For(model);
            using var generation = StartGeneration(model, prompt, new SamplingSettings(maxTokens, request.Temperature, request.TopP, request.TopK, request.Seed), request, syntax);
            var completion = new StoredCompletion(sink.Kind, Ids.New(sink.Kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-"), time.GetUtcNow().ToUnixTimeSeconds(), request.Model, sink.RequestId);
            try
            {
                await GenerateAsync(sink, generation, completion, ledger, telemetry);
            }
            catch (Exception) when (!ledger.Settled)
            {
                // Generation started and broke: prompt billed, nothing generated billed (the stated policy); a client
                // that left is billed for what was generated until then.
                bool left = sink.ClientLeft;
                await ledger.SettleQuietlyAsync(left ? UsageOutcome.ClientDisconnected : UsageOutcome.FailedAfterStart, left ? generation.CompletionTokens : 0);
                throw;
            }
            finally
            {
                telemetry.Generated(generation);
            }

            LogCompleted(logger, sink.RequestId, request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
        }
        finally
        {
            // Turned away before generating (a generator that would not start): nothing to bill.
            await ledger.SettleQuietlyAsync(UsageOutcome.Rejected, 0);
            telemetry.Settled(ledger.Outcome ?? UsageOutcome.Rejected);
        }
    }

    private async ValueTask<GenerationGate.Slot> EnterAsync(CompletionSink sink, CompletionTelemetry telemetry)
    {
        long waiting = Stopwatch.GetTimestamp();
        using (ServerlessTelemetry.Start(ServerlessTelemetry.Spans.QueueWait))
        {
            var slot = sink.Background
                ? await gate.EnterBackgroundAsync(sink.Caller, sink.Cancellation)
                : await gate.EnterAsync(sink.Caller, sink.Cancellation);
            telemetry.QueueWaited(Stopwatch.GetElapsedTime(waiting));
            return slot;
        }
    }

    // The prefill: the grammar compiled and the prompt run through the model before the first token.
    private static TextGeneration StartGeneration(LoadedModel model, int[] prompt, SamplingSettings sampling, GenerationRequest request, ToolCallSyntax syntax)
    {
        using var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.PromptProcessing);
        span?.SetTag(TelemetryAttributes.UsageInputTokens, prompt.Length);
        return new TextGeneration(model, prompt, sampling, request.Stop, Guidance.For(request, syntax));
    }

    // Generate → settle → deliver. Nothing here touches the ledger per token: the sink's token loop runs to the end first.
    private static async Task GenerateAsync(CompletionSink sink, TextGeneration generation, StoredCompletion completion, RequestLedger ledger, CompletionTelemetry telemetry)
    {
        string? text;
        using (var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.Generation))
        {
            text = await sink.ReceiveAsync(generation, completion);
            span?.SetTag(TelemetryAttributes.UsageOutputTokens, generation.CompletionTokens);
        }

        telemetry.Generated(generation);
        if (generation.FinishReason == FinishReason.Cancelled)
        {
            // Stopped early (the client left, or the batch's run was cancelled): the record holds the prompt and every
            // token generated until then.
            await ledger.SettleAsync(UsageOutcome.ClientDisconnected, generation.CompletionTokens);
            sink.Stopped();
            return;
        }

        completion = WithToolCalls(
            completion with { Text = text ?? string.Empty, Finish = generation.FinishReason, PromptTokens = generation.PromptTokens, CompletionTokens = generation.CompletionTokens },
            sink);
        telemetry.Completed(completion);
        string? record = sink.ToRecord(completion);
        Settlement? settlement;
        try
        {
            settlement = await ledger.SettleAsync(OutcomeOf(generation.FinishReason), generation.CompletionTokens, completion, record);
        }
        catch (ApiException ex)
        {
            await sink.SettlementFailedAsync(ex);
            throw;
        }

        await sink.DeliverAsync(completion, settlement, ledger);
    }

    // A finished output that is calls (it can only be when the request let the model call its tools) is answered as
    // tool_calls; a call cut off by max_tokens stays text, with finish_reason "length", as OpenAI answers it.
    private static StoredCompletion WithToolCalls(StoredCompletion completion, CompletionSink sink)
    {
        if (sink.Request.Tools is not { MayCall: true } tools || completion.Finish != FinishReason.Stop || sink.ToolSyntax is not { } syntax)
        {
            return completion;
        }

        var calls = syntax.Parse(completion.Text, tools);
        return calls.Count == 0 ? completion : completion with { Text = string.Empty, ToolCalls = calls, Finish = FinishReason.ToolCalls };
    }

    /// <summary>
    /// Admission by the ledger: the request's reservation, or null when the request was answered without one (an
    /// Idempotency-Key replay, a batch line already settled). Refusals throw.
    /// </summary>
    private async Task<RequestLedger?> AdmitAsync(CompletionSink sink, int promptTokens, int maxTokens)
    {
        if (!metering.Enabled && !sink.Background)
        {
            return RequestLedger.Unmetered(sink.Caller.CustomerId, time);
        }

        var admitting = Stopwatch.GetTimestamp();
        var asked = sink.Admission(new AdmissionRequest
        {
            RequestId = sink.RequestId,
            KeyId = sink.Caller.KeyId,
            CustomerId = sink.Caller.CustomerId,
            Model = sink.Request.Model,
            PromptTokens = promptTokens,
            MaxTokens = maxTokens,
        });
        var admission = await metering.AdmitAsync(asked);
        var waited = Stopwatch.GetElapsedTime(admitting);
        sink.Admitted(admission);
        switch (admission.Status)
        {
            case AdmissionStatus.RateLimited:
                throw metering.RateLimited(admission);
            case AdmissionStatus.InsufficientQuota:
                throw MeteringService.InsufficientQuota(admission);
            case AdmissionStatus.IdempotencyConflict:
            case AdmissionStatus.IdempotencyInProgress:
                throw new ApiException(StatusCodes.Status409Conflict, "invalid_request_error", "idempotency_key_conflict", admission.Reason!, HttpCompletionSink.IdempotencyHeader);
            case AdmissionStatus.IdempotencyReplay:
                await sink.ReplayAsync(admission.StoredResult!);
                return null;
            case AdmissionStatus.AlreadySettled:
                sink.AlreadySettled(admission.Settlement!);
                return null;
            case AdmissionStatus.Admitted:
                break;
            default:
                throw new InvalidOperationException($"Unexpected admission {admission.Status} for {sink.RequestId}.");
        }

        if (admission.Resumed)
        {
            LogResumed(logger, sink.RequestId);
        }

        return new RequestLedger(metering, admission, asked.Idempotency, time, waited);
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

    // Everything before admission: the model exists and the key may use it, the model is loaded, the prompt fits.
    private async Task<(LoadedModel Model, int[] Prompt, int MaxTokens)> PrepareAsync(CompletionSink sink)
    {
        var (caller, request, promptText, cancellationToken) = (sink.Caller, sink.Request, sink.Prompt, sink.Cancellation);
        if (!models.Exists(request.Model))
        {
            throw ApiException.ModelNotFound(request.Model);
        }

        if (!caller.CanUse(request.Model))
        {
            throw ApiException.Forbidden($"This API key is not allowed to use the model '{request.Model}'.", "model_not_allowed");
        }

        ModelAcquisition acquisition;
        try
        {
            acquisition = await models.AcquireAsync(request.Model, cancellationToken);
        }
        catch (ModelUnavailableException)
        {
            throw ApiException.ModelUnavailable(request.Model, _options.RetryAfterSeconds);
        }

        if (acquisition.LoadMilliseconds is long loadMs)
        {
            sink.ModelLoaded(loadMs);
        }

        var model = acquisition.Model;
        if (promptText.Characters > model.MaxPromptCharacters)
        {
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture,
                $"This model's maximum context length is {model.ContextLength} tokens, which can hold at most {model.MaxPromptCharacters} characters of text; the prompt has {promptText.Characters}. Please reduce the prompt."),
                promptText.Param, "context_length_exceeded");
        }

        int[] prompt;
        using (var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.Tokenize))
        {
            prompt = await promptGate.TokenizeAsync(promptText, model, sink.Background, cancellationToken);
            span?.SetTag(TelemetryAttributes.UsageInputTokens, prompt.Length);
        }

        if (prompt.Length == 0)
        {
            // The model needs at least one token to continue from; GenAI refuses an empty input outright.
            throw ApiException.InvalidValue(promptText.Param, "The prompt is empty: send at least one token of text.");
        }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId}: resuming the reservation of an earlier attempt")]
    private static partial void LogResumed(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId} {Model}: {PromptTokens} prompt + {CompletionTokens} completion tokens, {Finish}")]
    private static partial void LogCompleted(ILogger logger, string requestId, string model, int promptTokens, int completionTokens, FinishReason finish);
}
