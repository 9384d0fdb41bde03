namespace Serverless.Testing.Stripe;

/// <summary>One call that reached the fake: who made it, from when to when, and which meter events it got accepted.</summary>
/// <param name="ApiKey">
/// The account's secret key the call was made with (see <see cref="FakeStripeServer.AddApiKey"/>); for the v2 stream, the
/// key that opened its meter event session. Null when the call did not authenticate.
/// </param>
/// <param name="Started">When the request reached the fake (the fake's clock).</param>
/// <param name="Ended">When its answer was written, or the fake gave it up (the client went away, an injected drop); null while open.</param>
/// <param name="Status">The HTTP status answered; null when none was (dropped, or still open).</param>
/// <param name="Accepted">Identifiers of the meter events this call got accepted (v1 or stream), in order.</param>
public sealed record FakeStripeCall(
    StripeEndpoint Endpoint,
    string? ApiKey,
    DateTimeOffset Started,
    DateTimeOffset? Ended,
    int? Status,
    IReadOnlyList<string> Accepted)
{
    public bool IsOpen => Ended is null;

    /// <summary>Whether this call and <paramref name="other"/> were open at the same moment (an open call lasts until now).</summary>
    public bool Overlaps(FakeStripeCall other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Started < (other.Ended ?? DateTimeOffset.MaxValue) && other.Started < (Ended ?? DateTimeOffset.MaxValue);
    }
}
