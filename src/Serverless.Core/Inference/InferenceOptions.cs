using System.ComponentModel.DataAnnotations;

namespace Serverless.Core.Inference;

/// <summary>Limits of the generation path on one instance. Section "Inference".</summary>
public sealed class InferenceOptions
{
    public const string SectionName = "Inference";

    /// <summary>Generations running at once on this instance; each has its own Generator on the shared model.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentGenerations { get; set; } = 8;

    /// <summary>Requests allowed to wait for a generation slot; beyond this, 429 with Retry-After.</summary>
    [Range(0, 100_000)]
    public int MaxQueuedRequests { get; set; } = 64;

    /// <summary>
    /// Generations one customer may run at once on this instance (live requests and batch lines together); unset: half
    /// of <see cref="MaxConcurrentGenerations"/> (at least 1), so one customer never holds every slot.
    /// </summary>
    [Range(1, 1024)]
    public int? MaxConcurrentPerCustomer { get; set; }

    /// <summary>Generations one API key (by key id) may run at once on this instance; unset: the customer's cap. ("PerKeyId": a setting ending in "Key" reads as a secret.)</summary>
    [Range(1, 1024)]
    public int? MaxConcurrentPerKeyId { get; set; }

    /// <summary>
    /// Live requests of one customer allowed to wait for a slot; beyond this, 429 concurrency_limit_exceeded. Unset: a
    /// quarter of <see cref="MaxQueuedRequests"/> (rounded up), so one customer cannot fill the shared queue.
    /// </summary>
    [Range(0, 100_000)]
    public int? MaxQueuedPerCustomer { get; set; }

    /// <summary>The per-customer running cap in force.</summary>
    public int CustomerConcurrencyCap => MaxConcurrentPerCustomer ?? Math.Max(1, MaxConcurrentGenerations / 2);

    /// <summary>The per-key running cap in force.</summary>
    public int KeyConcurrencyCap => MaxConcurrentPerKeyId ?? CustomerConcurrencyCap;

    /// <summary>The per-customer queue bound in force.</summary>
    public int CustomerQueueCap => MaxQueuedPerCustomer ?? ((MaxQueuedRequests + 3) / 4);

    /// <summary>How long a queued request waits for a slot before it gets 429.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Prompts tokenized at once on this instance (0: half the cores, at least one). Long prompts cost seconds of CPU
    /// to tokenize, outside the generation slots; this keeps a burst of them from taking every core.
    /// </summary>
    [Range(0, 1024)]
    public int MaxConcurrentTokenizations { get; set; }

    /// <summary>Completion length when the request gives no max_tokens (capped by what the context leaves).</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxTokens { get; set; } = 1024;

    /// <summary>Largest accepted request body.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Retry-After sent with 429 (capacity) and 503 (model unavailable) answers.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}
