namespace Serverless.Core.Http;

/// <summary>
/// Counts a request against its caller's request rate, for the dispatcher: before the handler on routes that
/// <see cref="ApiRoute.CountsRequest"/>, after it on the others when their handler did not (<see cref="ApiCall.CountedAgainstRate"/>).
/// </summary>
public interface IRequestCounter
{
    /// <summary>Whether requests are counted at all; when not, the dispatcher never calls <see cref="CountRequestAsync"/>.</summary>
    bool Enabled { get; }

    /// <summary>
    /// Counts one request; the caller's limits now (for the x-ratelimit-* headers) or null. Throws the 429
    /// <see cref="ApiException"/> when the window is full, and another when the count cannot be recorded.
    /// </summary>
    Task<RateLimitState?> CountRequestAsync(ApiCaller caller, string requestId);
}
