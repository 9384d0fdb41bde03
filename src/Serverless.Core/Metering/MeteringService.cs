using System.Globalization;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;

namespace Serverless.Core.Metering;

/// <summary>
/// The ledger as the request path sees it: admit (rate limits, budgets, reservation) before generating and
/// settle (the usage record) before the response completes. Both go through the group-commit writer.
/// </summary>
public sealed partial class MeteringService(
    LedgerWriter writer,
    InstanceIdentity instance,
    IOptions<MeteringOptions> options,
    TimeProvider time,
    ILogger<MeteringService> logger) : IRequestCounter
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
        try
        {
            return await writer.SubmitAsync(new AdmissionCommand(request, time.GetUtcNow(), instance.InstanceId, _options));
        }
        catch (LedgerUnavailableException ex)
        {
            LogAdmissionFailed(logger, ex, request.RequestId);
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
        try
        {
            return await writer.SubmitAsync(new SettleCommand(request, instance.InstanceId));
        }
        catch (LedgerUnavailableException ex)
        {
            LogSettlementDeferred(logger, ex, request.Reservation.RequestId);
            _deferred.Writer.TryWrite(request with { Outcome = UsageOutcome.FailedAfterStart, CompletionTokens = 0, IdempotentResult = null, BatchResult = null });
            throw Unavailable();
        }
    }

    /// <summary>Settles a reservation nobody will settle any more (dead instance, failed write), by the stated policy.</summary>
    internal Task<Settlement> SettleOrphanAsync(SettlementRequest request) =>
        writer.SubmitAsync(new SettleCommand(request, instance.InstanceId));

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
