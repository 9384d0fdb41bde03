using System.ComponentModel.DataAnnotations;

namespace Serverless.Core.Metering;

/// <summary>Ledger, rate-limit and sweeper settings. Section "Metering".</summary>
public sealed class MeteringOptions
{
    public const string SectionName = "Metering";

    /// <summary>
    /// A benchmark and diagnostic switch, on in every real deployment. Off, requests bypass the ledger entirely:
    /// nothing is admitted, rate-limited, budgeted, recorded or billed, and no usage receipts are issued. It
    /// exists to measure what metering adds to a request (tests/Serverless.Benchmarks, mode ledger).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests per minute for a key or customer without its own limit.</summary>
    [Range(1, long.MaxValue)]
    public long DefaultRequestsPerMinute { get; set; } = 600;

    /// <summary>Tokens (prompt + max_tokens at admission, corrected to actual at settlement) per minute by default.</summary>
    [Range(1, long.MaxValue)]
    public long DefaultTokensPerMinute { get; set; } = 2_000_000;

    /// <summary>Most ledger operations committed in one transaction (group commit).</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 1024;

    /// <summary>How often an instance records that it is alive.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>An instance silent for this long is dead: its open reservations are settled by another instance.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan DeadInstanceAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the sweeper looks for reservations of dead instances.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A reservation older than this is settled even if its instance still looks alive (no request runs this long).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan OrphanReservationAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an Idempotency-Key's result is replayed.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Retry-After sent when the ledger cannot be written (503).</summary>
    [Range(1, 3600)]
    public int UnavailableRetryAfterSeconds { get; set; } = 2;
}
