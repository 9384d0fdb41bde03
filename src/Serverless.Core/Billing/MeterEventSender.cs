using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Stripe;
using Stripe.Billing;
using Stripe.V2.Billing;

namespace Serverless.Core.Billing;

/// <summary>What became of one attempt to deliver a bucket.</summary>
public enum DeliveryStatus
{
    /// <summary>Stripe accepted it (or had already accepted the same identifier).</summary>
    Accepted,

    /// <summary>A transient failure (429, 5xx, timeout, network): send the same identifier again later.</summary>
    Retry,

    /// <summary>A permanent rejection: dead-letter it for an admin.</summary>
    Rejected,
}

public sealed record DeliveryResult(DeliveryStatus Status, string? Error = null, TimeSpan? RetryAfter = null)
{
    public static readonly DeliveryResult Accepted = new(DeliveryStatus.Accepted);
}

/// <summary>
/// Sends buckets to Stripe as meter events: one v1 call per event, or the v2 meter event stream (100 per call,
/// authenticated with a 15-minute session token). Stripe's answers are classified here, once: in particular
/// "An event already exists with identifier …" means an earlier attempt was delivered.
/// </summary>
public sealed class MeterEventSender(StripeClientFactory clients, TimeProvider time)
{
    public const int MaxStreamEvents = 100;

    private const string AlreadyExists = "An event already exists with identifier";

    private readonly SemaphoreSlim _sessionLock = new(1, 1);
    private (string Token, DateTimeOffset ExpiresAt)? _session;

    public async Task<DeliveryResult> SendAsync(ExportBucket bucket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        try
        {
            await clients.Create().V1.Billing.MeterEvents.CreateAsync(new Stripe.Billing.MeterEventCreateOptions
            {
                EventName = bucket.EventName,
                Identifier = bucket.Identifier,
                Timestamp = LateUsage.Timestamp(bucket).UtcDateTime,
                Payload = Payload(bucket),
            }, cancellationToken: cancellationToken);
            return DeliveryResult.Accepted;
        }
        catch (StripeException ex)
        {
            return Classify(ex);
        }
        catch (Exception ex) when (IsTransport(ex, cancellationToken))
        {
            return new DeliveryResult(DeliveryStatus.Retry, ex.Message);
        }
    }

    /// <summary>Sends up to 100 buckets in one v2 stream call. The stream validates asynchronously: errors arrive as meter error reports.</summary>
    public async Task<DeliveryResult> StreamAsync(IReadOnlyList<ExportBucket> buckets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        if (buckets.Count is 0 or > MaxStreamEvents)
        {
            throw new ArgumentOutOfRangeException(nameof(buckets), "A stream call carries 1 to 100 events.");
        }

        var options = new MeterEventStreamCreateOptions
        {
            Events = buckets.Select(b => new MeterEventStreamCreateEventOptions
            {
                EventName = b.EventName,
                Identifier = b.Identifier,
                Timestamp = LateUsage.Timestamp(b).UtcDateTime,
                Payload = Payload(b),
            }).ToList(),
        };
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                string token = await SessionTokenAsync(cancellationToken);
                await clients.CreateWithKey(token).V2.Billing.MeterEventStream.CreateAsync(options, cancellationToken: cancellationToken);
                return DeliveryResult.Accepted;
            }
            catch (StripeException ex) when (ex.HttpStatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                // The session token expired (or was revoked): get a new one once.
                _session = null;
            }
            catch (StripeException ex)
            {
                return Classify(ex);
            }
            catch (Exception ex) when (IsTransport(ex, cancellationToken))
            {
                return new DeliveryResult(DeliveryStatus.Retry, ex.Message);
            }
        }
    }

    public static DeliveryResult Classify(StripeException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string message = exception.StripeError?.Message ?? exception.Message;
        int status = (int)exception.HttpStatusCode;
        if (status == 400 && message.StartsWith(AlreadyExists, StringComparison.Ordinal))
        {
            return DeliveryResult.Accepted;
        }

        if (status is 429 or 409 or 0 || status >= 500)
        {
            return new DeliveryResult(DeliveryStatus.Retry, $"{status}: {message}", RetryAfter(exception));
        }

        return new DeliveryResult(DeliveryStatus.Rejected, $"{status}: {message}");
    }

    private static TimeSpan? RetryAfter(StripeException exception)
    {
        var header = exception.StripeResponse?.Headers?.RetryAfter;
        if (header?.Delta is TimeSpan delta)
        {
            return delta;
        }

        if (header?.Date is DateTimeOffset date)
        {
            return date - DateTimeOffset.UtcNow;
        }

        return exception.StripeResponse?.Headers?.TryGetValues("Retry-After", out var values) == true
            && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }

    private static bool IsTransport(Exception exception, CancellationToken cancellationToken) =>
        exception is HttpRequestException or IOException || (exception is TaskCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested);

    private static Dictionary<string, string> Payload(ExportBucket bucket) => new(StringComparer.Ordinal)
    {
        ["stripe_customer_id"] = bucket.StripeCustomerId,
        ["value"] = bucket.Value.ToString(CultureInfo.InvariantCulture),
    };

    private async Task<string> SessionTokenAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_session is { } current && current.ExpiresAt - now > TimeSpan.FromMinutes(1))
        {
            return current.Token;
        }

        await _sessionLock.WaitAsync(cancellationToken);
        try
        {
            if (_session is { } fresh && fresh.ExpiresAt - now > TimeSpan.FromMinutes(1))
            {
                return fresh.Token;
            }

            var session = await clients.Create().V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions(), cancellationToken: cancellationToken);
            _session = (session.AuthenticationToken, new DateTimeOffset(DateTime.SpecifyKind(session.ExpiresAt, DateTimeKind.Utc)));
            return session.AuthenticationToken;
        }
        finally
        {
            _sessionLock.Release();
        }
    }
}
