namespace Serverless.Core.Models;

/// <summary>
/// Progress of a model upload or download. Files transfer in parallel, so reports for different
/// files interleave and arrive on different threads; the totals are always consistent snapshots.
/// </summary>
/// <param name="ModelId">The model being transferred.</param>
/// <param name="FileName">The file this report is about.</param>
/// <param name="FileBytesTransferred">Bytes of <paramref name="FileName"/> done so far.</param>
/// <param name="FileSize">Size of <paramref name="FileName"/>.</param>
/// <param name="BytesTransferred">Bytes of all files done so far.</param>
/// <param name="TotalBytes">Size of all files.</param>
/// <param name="FilesCompleted">Files fully transferred so far.</param>
/// <param name="FileCount">Number of files.</param>
public sealed record ModelTransferProgress(
    string ModelId,
    string FileName,
    long FileBytesTransferred,
    long FileSize,
    long BytesTransferred,
    long TotalBytes,
    int FilesCompleted,
    int FileCount)
{
    public bool IsFileComplete => FileBytesTransferred >= FileSize;
}
