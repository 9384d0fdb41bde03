using System.ComponentModel.DataAnnotations;

namespace Serverless.Core.Billing;

/// <summary>Stripe usage billing. Section "Stripe". Without an ApiKey nothing is exported and usage stays pending.</summary>
public sealed class StripeOptions
{
    public const string SectionName = "Stripe";

    /// <summary>Secret key (sk_…). Unset: the exporter and reconciler do not run; the service works and records stay pending.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Webhook endpoint signing secret (whsec_…). Unset: POST /stripe/webhook answers 503.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Stripe's API host; configurable so a local server can stand in for it in tests.</summary>
    [Required]
    public string ApiBase { get; set; } = "https://api.stripe.com";

    /// <summary>Host of the v2 meter event stream.</summary>
    [Required]
    public string MeterEventsBase { get; set; } = "https://meter-events.stripe.com";

    [Required]
    [RegularExpression("^[a-zA-Z0-9_.-]{1,100}$")]
    public string InputMeterEventName { get; set; } = "svl_input_tokens";

    [Required]
    [RegularExpression("^[a-zA-Z0-9_.-]{1,100}$")]
    public string OutputMeterEventName { get; set; } = "svl_output_tokens";

    /// <summary>Width of an export bucket: tokens of one customer and meter in one bucket become one meter event.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BucketSize { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the background exporter runs a pass.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The export lease (one exporter at a time): taken at the start of a pass, renewed every third of this while
    /// the pass runs, released at its end. A holder that died mid-pass loses it after this long. It need not
    /// outlast <see cref="RequestTimeout"/>: the renewals keep it while a call is open.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ExportLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Records moved from the outbox into buckets per ledger transaction.</summary>
    [Range(1, 100_000)]
    public int ClaimBatchSize { get; set; } = 5000;

    /// <summary>From this many buckets due in a pass, events go through the v2 meter event stream (100 per call) instead of one v1 call each.</summary>
    [Range(1, 1_000_000)]
    public int StreamThreshold { get; set; } = 50;

    /// <summary>Concurrent v1 calls (never two for the same customer and meter, which Stripe forbids).</summary>
    [Range(1, 64)]
    public int MaxParallelCalls { get; set; } = 8;

    /// <summary>Timeout of one Stripe call.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First retry delay after a 429/5xx/timeout; doubles per attempt (with jitter) up to MaxRetryDelay.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often reconciliation runs in the background (0 turns it off).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Days (UTC, counting today) a reconciliation covers by default.</summary>
    [Range(1, 35)]
    public int ReconcileDays { get; set; } = 3;

    /// <summary>Largest accepted age of a webhook signature.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan WebhookTolerance { get; set; } = TimeSpan.FromSeconds(300);

    public bool Enabled => !string.IsNullOrWhiteSpace(ApiKey);

    public string EventName(string meterKind) => meterKind == MeterKind.InputTokens ? InputMeterEventName : OutputMeterEventName;
}
