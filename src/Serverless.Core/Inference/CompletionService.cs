using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// The path every completion takes, whichever route it came in on: scope check, model, prompt tokens,
/// context check, a generation slot, generation, and the response (whole or streamed).
/// </summary>
public sealed partial class CompletionService(
    ModelRegistry models,
    GenerationGate gate,
    InferenceMetrics metrics,
    IOptions<InferenceOptions> options,
    TimeProvider time,
    ILogger<CompletionService> logger)
{
    public const string ModelLoadHeader = "x-model-load-ms";
    public const string ProcessingHeader = "openai-processing-ms";

    private readonly InferenceOptions _options = options.Value;

    public long MaxRequestBodyBytes => _options.MaxRequestBodyBytes;

    public async Task RunAsync(ApiCall call, CompletionKind kind, GenerationRequest request, Func<LoadedModel, int[]> buildPrompt)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(buildPrompt);
        var started = Stopwatch.GetTimestamp();
        var caller = call.RequireCaller();
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
        var sampling = new SamplingSettings(maxTokens, request.Temperature, request.TopP, request.TopK, request.Seed);

        using var slot = await gate.EnterAsync(call.Aborted);
        using var generation = new TextGeneration(model, prompt, sampling, request.Stop);
        string id = Ids.New(kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-");
        var writer = new CompletionWriter(kind, id, time.GetUtcNow().ToUnixTimeSeconds(), request.Model, request.IncludeUsage);
        try
        {
            if (request.Stream)
            {
                await StreamAsync(call, generation, writer);
            }
            else
            {
                await RespondWholeAsync(call, generation, writer, started);
            }
        }
        finally
        {
            metrics.Record(request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
        }

        LogCompleted(logger, call.RequestId, request.Model, generation.PromptTokens, generation.CompletionTokens, generation.FinishReason);
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

    private static async Task RespondWholeAsync(ApiCall call, TextGeneration generation, CompletionWriter writer, long started)
    {
        var text = new StringBuilder();
        var aborted = call.Aborted;
        while (generation.TryReadNext(aborted, out string piece))
        {
            text.Append(piece);
        }

        aborted.ThrowIfCancellationRequested();
        var body = new ArrayBufferWriter<byte>(text.Length + 512);
        writer.WriteCompletion(body, text.ToString(), generation.FinishReason, generation.PromptTokens, generation.CompletionTokens);
        var response = call.Http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = body.WrittenCount;
        response.Headers[ProcessingHeader] = ((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        await response.Body.WriteAsync(body.WrittenMemory, aborted);
    }

    private static async Task StreamAsync(ApiCall call, TextGeneration generation, CompletionWriter writer)
    {
        var response = call.Http.Response;
        var aborted = call.Aborted;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        call.Http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var pipe = response.BodyWriter;
        try
        {
            writer.WriteRoleChunk(pipe);
            if (!Delivered(await pipe.FlushAsync(aborted)))
            {
                generation.Abandon();
                return;
            }

            while (generation.TryReadNext(aborted, out string piece))
            {
                writer.WritePieceChunk(pipe, piece);
                if (!Delivered(await pipe.FlushAsync(aborted)))
                {
                    generation.Abandon();
                    return;
                }
            }

            if (generation.FinishReason == FinishReason.Cancelled)
            {
                return;
            }

            writer.WriteFinish(pipe, generation.FinishReason, generation.PromptTokens, generation.CompletionTokens);
            CompletionWriter.WriteDone(pipe);
            await pipe.FlushAsync(aborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            generation.Abandon();
            throw;
        }
    }

    private static bool Delivered(System.IO.Pipelines.FlushResult flush) => !flush.IsCanceled && !flush.IsCompleted;

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId} {Model}: {PromptTokens} prompt + {CompletionTokens} completion tokens, {Finish}")]
    private static partial void LogCompleted(ILogger logger, string requestId, string model, int promptTokens, int completionTokens, FinishReason finish);
}
