using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Core.Inference;

/// <summary>
/// A completion answered over HTTP as one JSON body: the Idempotency-Key and its replays, the rate-limit and
/// timing headers, and the usage receipt. A streamed answer is a <see cref="StreamingCompletionSink"/>.
/// </summary>
internal class HttpCompletionSink : CompletionSink
{
    public const string ModelLoadHeader = "x-model-load-ms";
    public const string ProcessingHeader = "openai-processing-ms";
    public const string IdempotencyHeader = "Idempotency-Key";
    public const string ReplayHeader = "x-idempotent-replay";

    /// <summary>W3C Server-Timing: "ledger;dur=…", the milliseconds a whole response waited on the ledger (admission and settlement).</summary>
    public const string ServerTimingHeader = "Server-Timing";

    private const int MaxIdempotencyKeyLength = 255;

    private readonly MeteringService _metering;
    private readonly long _started;
    private readonly IdempotencyClaim? _idempotency;

    protected HttpCompletionSink(ApiCall call, CompletionKind kind, GenerationRequest request, string bodyHash, PromptText prompt, MeteringService metering, UsageReceipts receipts, long started)
        : base(call.RequireCaller(), call.RequestId, kind, request, prompt, call.Aborted)
    {
        Call = call;
        Receipts = receipts;
        _metering = metering;
        _started = started;
        _idempotency = IdempotencyClaimOf(call, kind, bodyHash);
    }

    protected ApiCall Call { get; }

    protected UsageReceipts Receipts { get; }

    protected HttpResponse Response => Call.Http.Response;

    /// <summary>Whether the text must be kept for a replay of the same Idempotency-Key.</summary>
    protected bool Idempotent => _idempotency is not null;

    public override bool Background => false;

    public override bool ClientLeft => Call.Aborted.IsCancellationRequested;

    /// <summary>The sink for a request to a completion route: a stream when it asked for one, one JSON body otherwise.</summary>
    public static HttpCompletionSink For(ApiCall call, CompletionKind kind, GenerationRequest request, string bodyHash, PromptText prompt, MeteringService metering, UsageReceipts receipts)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(prompt);
        long started = Stopwatch.GetTimestamp();
        return request.Stream
            ? new StreamingCompletionSink(call, kind, request, bodyHash, prompt, metering, receipts, started)
            : new HttpCompletionSink(call, kind, request, bodyHash, prompt, metering, receipts, started);
    }

    public override void ModelLoaded(long milliseconds) =>
        Response.Headers[ModelLoadHeader] = milliseconds.ToString(CultureInfo.InvariantCulture);

    public override AdmissionRequest Admission(AdmissionRequest admission) =>
        admission with { Idempotency = _idempotency, SyncedBySettlement = !Request.Stream };

    public override void Admitted(Admission admission)
    {
        if (admission.Status is AdmissionStatus.Admitted or AdmissionStatus.RateLimited)
        {
            // Taken from the rate windows, or refused by them: either way the dispatcher need not count it again.
            Call.MarkCountedAgainstRate();
        }

        if (admission.RateLimits is { } limits)
        {
            _metering.WriteRateLimitHeaders(Response, limits);
        }
    }

    /// <summary>Answers a retry with the stored result of the first request; the ledger is not charged again.</summary>
    public override Task ReplayAsync(string storedResult)
    {
        var result = JsonSerializer.Deserialize(storedResult, StoredCompletionJsonContext.Default.StoredCompletion)
            ?? throw new InvalidOperationException("Stored idempotent result is empty.");
        var settlement = new Settlement(result.RequestId, result.PromptTokens, result.CompletionTokens, result.PriceVersion, result.CostMicroUsd, UsageOutcome.Completed, SettledHere: false);
        string receipt = Receipts.Create(Caller.CustomerId, settlement);
        var writer = new CompletionWriter(result.Kind, result.Id, result.Created, result.Model, Request.IncludeUsage);
        Response.Headers[ReplayHeader] = "true";
        return ReplayAsync(result, writer, receipt);
    }

    public override async Task DeliverAsync(StoredCompletion completion, Settlement? settlement, RequestLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(completion);
        ArgumentNullException.ThrowIfNull(ledger);
        var body = new ArrayBufferWriter<byte>(completion.Text.Length + 512);
        WriterFor(completion).WriteCompletion(body, completion);
        var response = Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = body.WrittenCount;
        response.Headers[ProcessingHeader] = ((long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        if (settlement is not null)
        {
            response.Headers[UsageReceipts.Header] = Receipts.Create(ledger.CustomerId, settlement);
            response.Headers[ServerTimingHeader] = string.Create(CultureInfo.InvariantCulture, $"ledger;dur={ledger.WaitedForLedger.TotalMilliseconds:0.###}");
        }

        await response.Body.WriteAsync(body.WrittenMemory, Call.Aborted);
    }

    /// <summary>The stored result answered again in this response's shape.</summary>
    protected virtual async Task ReplayAsync(StoredCompletion result, CompletionWriter writer, string receipt)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(writer);
        var body = new ArrayBufferWriter<byte>(result.Text.Length + 512);
        writer.WriteCompletion(body, result);
        Response.StatusCode = StatusCodes.Status200OK;
        Response.ContentType = "application/json";
        Response.Headers[UsageReceipts.Header] = receipt;
        await Response.Body.WriteAsync(body.WrittenMemory, Call.Aborted);
    }

    protected CompletionWriter WriterFor(StoredCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return new CompletionWriter(Kind, completion.Id, completion.Created, Request.Model, Request.IncludeUsage);
    }

    private static IdempotencyClaim? IdempotencyClaimOf(ApiCall call, CompletionKind kind, string bodyHash)
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
}
