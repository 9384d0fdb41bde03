using System.Globalization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Metering;

/// <summary>
/// The ledger as the request path sees it: admit (rate limits, budgets, reservation) before generating and
/// settle (the usage record) before the response completes. Both go through the group-commit writer, each as a span;
/// every record committed here (by the request, the sweeper or a batch line) is counted in <c>serverless.tokens</c>
/// once its commit succeeded, so that counter equals the ledger.
/// </summary>
public sealed partial class MeteringService(
    LedgerWriter writer,
    InstanceIdentity instance,
    IOptions<MeteringOptions> options,
    TimeProvider time,
    ILogger<MeteringService> logger,
    ServerlessMetrics metrics) : IRequestCounter
{
    private readonly MeteringOptions _options = options.Value;
    private readonly Channel<SettlementRequest> _deferred = Channel.CreateUnbounded<SettlementRequest>();

    public string InstanceId => instance.InstanceId;

    /// <summary>Whether requests go through the ledger (<see cref="MeteringOptions.Enabled"/>); off only for benchmarks and diagnosis.</summary>
    public bool Enabled => _options.Enabled;

    internal ChannelReader<SettlementRequest> DeferredSettlements => _deferred.Reader;

    /// <summary>
    /// Admits or refuses a request. Not cancellable on purpose: once submitted, an admission may commit, and its
    /// reservation must then be settled by this request rather than left open.
    /// </summary>
    public async Task<Admission> AdmitAsync(AdmissionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.LedgerAdmit);
        try
        {
            var admission = await writer.SubmitAsync(new AdmissionCommand(request, time.GetUtcNow(), instance.InstanceId, _options));
            span?.SetTag(TelemetryAttributes.LedgerAdmission, admission.Status.ToString());
            return admission;
        }
        catch (LedgerUnavailableException ex)
        {
            LogAdmissionFailed(logger, ex, request.RequestId);
            span?.SetTag(TelemetryAttributes.ErrorType, LedgerUnavailable).SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            throw Unavailable();
        }
    }

    /// <summary>
    /// Writes the request's usage record. If the ledger cannot be written, the request fails with 503 and its
    /// reservation is settled later in the background as <see cref="UsageOutcome.FailedAfterStart"/>.
    /// </summary>
    public async Task<Settlement> SettleAsync(SettlementRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.LedgerSettle);
        span?.SetTag(TelemetryAttributes.Outcome, request.Outcome);
        try
        {
            return Counted(request, await writer.SubmitAsync(new SettleCommand(request, instance.InstanceId)));
        }
        catch (LedgerUnavailableException ex)
        {
            LogSettlementDeferred(logger, ex, request.Reservation.RequestId);
            span?.SetTag(TelemetryAttributes.ErrorType, LedgerUnavailable).SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            _deferred.Writer.TryWrite(request with { Outcome = UsageOutcome.FailedAfterStart, CompletionTokens = 0, IdempotentResult = null, BatchResult = null });
            throw Unavailable();
        }
    }

    /// <summary>Settles a reservation nobody will settle any more (dead instance, failed write), by the stated policy.</summary>
    internal async Task<Settlement> SettleOrphanAsync(SettlementRequest request)
    {
        using var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.LedgerSettle);
        span?.SetTag(TelemetryAttributes.Outcome, request.Outcome);
        span?.SetTag(TelemetryAttributes.RequestId, request.Reservation.RequestId);
        return Counted(request, await writer.SubmitAsync(new SettleCommand(request, instance.InstanceId)));
    }

    // The record is committed (the writer completes a command only after its transaction did): count what it billed. A
    // settlement that found the request already recorded (SettledHere false) was counted by whoever recorded it.
    private Settlement Counted(SettlementRequest request, Settlement settlement)
    {
        if (settlement.SettledHere)
        {
            metrics.RecordSettled(request.Reservation.CustomerId, request.Reservation.Model, settlement.PromptTokens, settlement.CompletionTokens);
        }

        return settlement;
    }

    private const string LedgerUnavailable = "ledger_unavailable";

    /// <summary>Counts a request without generation (e.g. GET /v1/models) against the request rate.</summary>
    public async Task<RateLimitState?> CountRequestAsync(ApiCaller caller, string requestId)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var admission = await AdmitAsync(new AdmissionRequest { RequestId = requestId, KeyId = caller.KeyId, CustomerId = caller.CustomerId });
        if (admission.Status == AdmissionStatus.RateLimited)
        {
            throw RateLimited(admission);
        }

        return admission.RateLimits;
    }

    public ApiException RateLimited(Admission admission)
    {
        ArgumentNullException.ThrowIfNull(admission);
        int retryAfter = admission.RateLimits is { } limits
            ? (int)Math.Max(1, Math.Ceiling((limits.ResetsAt - time.GetUtcNow()).TotalSeconds))
            : 1;
        return new ApiException(StatusCodes.Status429TooManyRequests, "requests", "rate_limit_exceeded", admission.Reason ?? "Rate limit reached.")
        {
            RetryAfterSeconds = retryAfter,
            RateLimits = admission.RateLimits,
        };
    }

    public static ApiException InsufficientQuota(Admission admission)
    {
        ArgumentNullException.ThrowIfNull(admission);
        return new ApiException(StatusCodes.Status429TooManyRequests, "insufficient_quota", "insufficient_quota", admission.Reason ?? "Budget exceeded.")
        {
            RateLimits = admission.RateLimits,
        };
    }

    /// <summary>The x-ratelimit-* headers OpenAI clients read, as of now.</summary>
    public void WriteRateLimitHeaders(HttpResponse response, RateLimitState limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.WriteHeaders(response, time.GetUtcNow());
    }

    private ApiException Unavailable() =>
        new(StatusCodes.Status503ServiceUnavailable, "service_unavailable_error", "ledger_unavailable",
            "The usage ledger is temporarily unavailable, so the request was not processed. Retry after the delay in the Retry-After header.")
        {
            RetryAfterSeconds = _options.UnavailableRetryAfterSeconds,
        };

    [LoggerMessage(Level = LogLevel.Error, Message = "Admission of {RequestId} failed: the ledger is unavailable")]
    private static partial void LogAdmissionFailed(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Settlement of {RequestId} failed; it will be settled in the background as failed_after_start")]
    private static partial void LogSettlementDeferred(ILogger logger, Exception exception, string requestId);
}
