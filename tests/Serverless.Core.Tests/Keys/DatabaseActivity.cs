using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Serverless.Core.Tests.Keys;

/// <summary>Records every connection EF Core opens and every command it runs.</summary>
internal sealed class DatabaseActivity : DbCommandInterceptor, IDbConnectionInterceptor
{
    private readonly ConcurrentQueue<string> _commands = new();
    private int _connectionsOpened;

    public IReadOnlyList<string> Commands => [.. _commands];

    public int ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    public int CountCommands(string startsWith) =>
        _commands.Count(c => c.TrimStart().StartsWith(startsWith, StringComparison.OrdinalIgnoreCase));

    public void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) =>
        Interlocked.Increment(ref _connectionsOpened);

    public Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _connectionsOpened);
        return Task.CompletedTask;
    }

    public override DbCommand CommandInitialized(CommandEndEventData eventData, DbCommand result)
    {
        _commands.Enqueue(result.CommandText);
        return result;
    }
}
