namespace Serverless.Testing.Stripe;

/// <summary>How an injected failure makes a call go wrong.</summary>
public enum StripeFailureKind
{
    /// <summary>429 with a Retry-After header, before anything is executed (Stripe's rate limiter answers at the edge).</summary>
    RateLimited,

    /// <summary>500 api_error, before anything is executed; nothing is stored and no idempotent result is kept.</summary>
    ServerError,

    /// <summary>Waits before executing; if the client gives up first, nothing is executed.</summary>
    Slow,

    /// <summary>Executes and stores the call, then holds the response until the client gives up (or the delay ends and the connection is dropped).</summary>
    TimeoutAfterAccept,

    /// <summary>Executes and stores the call, then drops the connection without answering.</summary>
    AbortAfterAccept,
}
