namespace Serverless.Testing.Stripe;

/// <summary>One injected failure; build with the static members.</summary>
/// <param name="Kind">What goes wrong.</param>
/// <param name="Delay">Retry-After for <see cref="StripeFailureKind.RateLimited"/>; the wait for <see cref="StripeFailureKind.Slow"/>;
/// the longest the response is held for <see cref="StripeFailureKind.TimeoutAfterAccept"/>.</param>
public sealed record StripeFailure(StripeFailureKind Kind, TimeSpan Delay)
{
    /// <summary>Longer than Stripe.net's default 80 s HTTP timeout, so a held response is never answered.</summary>
    public static readonly TimeSpan DefaultHold = TimeSpan.FromSeconds(100);

    public static StripeFailure ServerError { get; } = new(StripeFailureKind.ServerError, TimeSpan.Zero);

    public static StripeFailure AbortAfterAccept { get; } = new(StripeFailureKind.AbortAfterAccept, TimeSpan.Zero);

    /// <summary>429 rate_limit with <c>Retry-After</c> in whole seconds (rounded up; default 1 s).</summary>
    public static StripeFailure RateLimited(TimeSpan? retryAfter = null) =>
        new(StripeFailureKind.RateLimited, retryAfter ?? TimeSpan.FromSeconds(1));

    public static StripeFailure Slow(TimeSpan delay) => new(StripeFailureKind.Slow, delay);

    public static StripeFailure TimeoutAfterAccept(TimeSpan? hold = null) =>
        new(StripeFailureKind.TimeoutAfterAccept, hold ?? DefaultHold);

    internal bool ExecutesFirst => Kind is StripeFailureKind.TimeoutAfterAccept or StripeFailureKind.AbortAfterAccept;
}
