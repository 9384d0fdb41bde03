using System.ComponentModel.DataAnnotations;

namespace Serverless.Core.Files;

/// <summary>The Files API: where file contents go and how large an upload may be. Section "Files".</summary>
public sealed class FilesOptions
{
    public const string SectionName = "Files";

    /// <summary>
    /// Blob container for file contents (uploads under files/, batch outputs too) and the batch orchestrations' working
    /// data (under jobs/). Created on first use; in Azure, infra creates it.
    /// </summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Files:Container must be a valid blob container name.")]
    public string Container { get; set; } = "batch";

    /// <summary>Largest accepted upload, in bytes (OpenAI's limit for batch input files is 200 MB; 100 MB by default here).</summary>
    [Range(1024, 1L << 40)]
    public long MaxUploadBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>
    /// Most files one customer keeps at once (uploads plus the batches' output and error files; expired files do not
    /// count). An upload past it is refused with 400 file_quota_exceeded; files the service writes are never refused.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxFilesPerCustomer { get; set; } = 1000;

    /// <summary>Most bytes one customer keeps in files at once (counted like <see cref="MaxFilesPerCustomer"/>); 10 GiB by default.</summary>
    [Range(1024, 1L << 50)]
    public long MaxBytesPerCustomer { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>
    /// How long a batch file lives when nobody says otherwise: the batches' output and error files, and uploads sent
    /// without expires_after (OpenAI: 30 days for purpose=batch).
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan DefaultExpiry { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often expired files (record and blob) are deleted. Until then they already answer 404.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);
}
