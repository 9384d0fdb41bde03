using System.ComponentModel.DataAnnotations;

namespace Serverless.Core.Jobs;

/// <summary>How batches run. Section "Batch".</summary>
public sealed class BatchOptions
{
    public const string SectionName = "Batch";

    /// <summary>
    /// What the only completion window OpenAI offers, "24h", lasts here. Lines not done by then end in the error file
    /// as batch_expired. Tests shorten it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan CompletionWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Most requests in one input file (OpenAI's limit is 50,000).</summary>
    [Range(1, 1_000_000)]
    public int MaxLines { get; set; } = 50_000;

    /// <summary>
    /// Longest custom_id, in characters; a longer one refuses its line (custom_id_too_long). 64 like the limit other
    /// batch APIs document (OpenAI's reference gives none); ids are echoed in every output and error line, so they stay short.
    /// </summary>
    [Range(1, 512)]
    public int MaxCustomIdLength { get; set; } = 64;

    /// <summary>
    /// Lines per activity. Smaller chunks redo less after a crash; larger ones cost fewer activity round trips. A chunk
    /// must finish well within the Functions host's functionTimeout (10 minutes in host.json): ChunkSize / MaxConcurrentLines
    /// lines in a row, each up to max_tokens long.
    /// </summary>
    [Range(1, 10_000)]
    public int ChunkSize { get; set; } = 20;

    /// <summary>Chunks of one batch scheduled at once (across instances when scaled out).</summary>
    [Range(1, 1000)]
    public int MaxParallelChunks { get; set; } = 4;

    /// <summary>
    /// Batch lines generating at once on one instance, whatever batch or chunk they belong to. They share the instance's
    /// generation slots (Inference:MaxConcurrentGenerations) with live requests, so keep it below that.
    /// </summary>
    [Range(1, 1024)]
    public int MaxConcurrentLines { get; set; } = 4;

    /// <summary>How often a running chunk records its progress and looks for a cancel request.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts for a line that fails with a transient server error (ledger unavailable, ...) before it goes to the error file.</summary>
    [Range(1, 10)]
    public int LineAttempts { get; set; } = 3;
}
