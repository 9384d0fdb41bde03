namespace Serverless.Testing.Stripe;

/// <summary>A request seen with an Idempotency-Key: what it was (to spot reuse with other parameters) and, once done, its answer.</summary>
internal sealed class IdempotencyRecord(string fingerprint, DateTimeOffset created)
{
    public string Fingerprint => fingerprint;

    public DateTimeOffset Created => created;

    /// <summary>Null while the first request is still executing.</summary>
    public FakeStripeResponse? Response { get; set; }
}
