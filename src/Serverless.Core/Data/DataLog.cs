using Microsoft.Extensions.Logging;

namespace Serverless.Core.Data;

internal static partial class DataLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Applying {Count} database migration(s) to {DataSource}: {Migrations}")]
    public static partial void ApplyingMigrations(this ILogger logger, int count, string dataSource, string migrations);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Database {DataSource} is up to date")]
    public static partial void DatabaseUpToDate(this ILogger logger, string dataSource);
}
