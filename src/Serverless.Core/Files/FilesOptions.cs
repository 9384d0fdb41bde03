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
}
