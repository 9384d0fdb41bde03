using System.Data.Common;
using System.Globalization;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Serverless.Core.Data;

/// <summary>
/// Sets SQLite's busy timeout on every opened connection, so a writer waits inside SQLite for another
/// writer's lock instead of failing at once or relying on Microsoft.Data.Sqlite's coarse retry loop.
/// The setting belongs to the connection, not the file, hence once per open (microseconds on a pooled handle).
/// </summary>
internal sealed class SqliteBusyTimeoutInterceptor(TimeSpan busyTimeout) : DbConnectionInterceptor
{
    private readonly string _pragma = string.Create(
        CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds};");

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // The text is built from a number, not from input.
        command.CommandText = _pragma;
#pragma warning restore CA2100
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(
        DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var command = connection.CreateCommand();
        await using (command)
        {
#pragma warning disable CA2100 // The text is built from a number, not from input.
            command.CommandText = _pragma;
#pragma warning restore CA2100
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
