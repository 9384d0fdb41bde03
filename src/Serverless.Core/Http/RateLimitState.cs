using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>Remaining allowance in the current one-minute window (the tighter of key and customer).</summary>
public sealed record RateLimitState(long LimitRequests, long RemainingRequests, long LimitTokens, long RemainingTokens, DateTimeOffset ResetsAt)
{
    /// <summary>The x-ratelimit-* headers OpenAI clients read.</summary>
    public void WriteHeaders(HttpResponse response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        string reset = FormatReset(ResetsAt - now);
        var headers = response.Headers;
        headers["x-ratelimit-limit-requests"] = LimitRequests.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-requests"] = RemainingRequests.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-requests"] = reset;
        headers["x-ratelimit-limit-tokens"] = LimitTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-tokens"] = RemainingTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-tokens"] = reset;
    }

    private static string FormatReset(TimeSpan delay)
    {
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        return delay < TimeSpan.FromSeconds(1)
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)delay.TotalMilliseconds}ms")
            : string.Create(CultureInfo.InvariantCulture, $"{Math.Round(delay.TotalSeconds, 1)}s");
    }
}
