using Microsoft.Extensions.Logging;

namespace Serverless.Core.Files;

/// <summary>
/// Deletes expired files (record and blob). Both hosts call <see cref="SweepAsync"/> on a schedule: the local host from
/// <see cref="FileSweeperBackgroundService"/>, the Functions app from a timer trigger. Expired files already answer 404
/// before a sweep; the sweep is what frees their storage.
/// </summary>
public sealed partial class FileSweeper(FileStore files, ILogger<FileSweeper> logger)
{
    private const int PageSize = 500;

    /// <summary>Deletes every file expired by now, a page at a time; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        int total = 0;
        int deleted;
        do
        {
            deleted = await files.SweepExpiredAsync(PageSize, cancellationToken);
            total += deleted;
        }
        while (deleted == PageSize);

        if (total > 0)
        {
            LogSwept(logger, total);
        }

        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} expired files")]
    private static partial void LogSwept(ILogger logger, int count);
}
