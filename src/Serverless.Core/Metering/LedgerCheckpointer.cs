using System.Data.Common;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Serverless.Core.Metering;

/// <summary>
/// Moves SQLite's WAL checkpoints off the ledger writer. SQLite normally checkpoints inside the commit that takes
/// the WAL past 1000 pages: that commit then copies megabytes into the database file and fsyncs it, a stall of
/// milliseconds that lands on whichever request committed, and CPU spent on the writer's own thread. The writer's
/// connection turns that off (wal_autocheckpoint = 0) and this loop checkpoints from its own connection instead:
/// PASSIVE checkpoints run beside the writer without blocking it. Under sustained load the WAL can grow faster than
/// a passive checkpoint finishes, so past <see cref="RestartFrames"/> a RESTART checkpoint waits for the writer
/// between two transactions and lets the WAL start over, which bounds it. Durability is unchanged: commits are
/// fsynced in the WAL as before, and a checkpoint fsyncs the WAL before and the database file after copying.
/// <para>
/// A checkpoint is due when the writer has written <see cref="CheckpointPages"/> pages since the last one, or has
/// written anything and then been idle for <see cref="IdleAfter"/>, not on every tick: each completed checkpoint
/// makes the writer's next commit start the WAL over, which fsyncs the WAL header on that commit, and its copying
/// and fsync of the database file share the disk with the writer's commits. Checkpointing every 100 ms put both on
/// about one request in ten at one client; by size, at about 11 pages a request, one in several hundred.
/// </para>
/// </summary>
internal sealed partial class LedgerCheckpointer : IAsyncDisposable
{
    /// <summary>About 64 MiB of WAL with 4 KiB pages.</summary>
    public const int RestartFrames = 16_384;

    /// <summary>Pages the writer wrote since the last checkpoint that make one due (16 MiB with 4 KiB pages).</summary>
    public const long CheckpointPages = 4_096;

    /// <summary>How long the writer must have been idle before what it wrote is checkpointed regardless of size.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly LedgerConnections _connections;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _pendingPages;
    private long _checkpoints;
    private long _lastWritten = Stopwatch.GetTimestamp();

    public LedgerCheckpointer(LedgerConnections connections, ILogger logger)
    {
        _connections = connections;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Checkpoints run so far.</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Pages the writer reported since the last checkpoint.</summary>
    public long PendingPages => Interlocked.Read(ref _pendingPages);

    /// <summary>The writer committed <paramref name="pages"/> pages to the WAL.</summary>
    public void Written(long pages)
    {
        if (pages > 0)
        {
            Interlocked.Add(ref _pendingPages, pages);
            Volatile.Write(ref _lastWritten, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Whether the pages written since the last checkpoint, and the time since the last write, make one due.</summary>
    internal static bool IsDue(long pendingPages, TimeSpan sinceLastWrite) =>
        pendingPages >= CheckpointPages || (pendingPages > 0 && sinceLastWrite >= IdleAfter);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        DbConnection? connection = null;
        try
        {
            using var timer = new PeriodicTimer(Interval);
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                long pending = Volatile.Read(ref _pendingPages);
                if (!IsDue(pending, Stopwatch.GetElapsedTime(Volatile.Read(ref _lastWritten))))
                {
                    continue;
                }

                Interlocked.Add(ref _pendingPages, -pending);
                try
                {
                    connection ??= _connections.OpenForCheckpointing();
                    if (Checkpoint(connection, "PASSIVE") >= RestartFrames)
                    {
                        Checkpoint(connection, "RESTART");
                    }

                    Interlocked.Increment(ref _checkpoints);
                }
                catch (DbException ex)
                {
                    // The writer's connection is unaffected; its WAL only grows until a later round succeeds.
                    LogCheckpointFailed(_logger, ex);
                    Interlocked.Add(ref _pendingPages, pending);
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        finally
        {
            connection?.Dispose();
        }
    }

    // Returns the WAL's size in frames (0 when the database is not in WAL mode).
    private static long Checkpoint(DbConnection connection, string mode)
    {
        using var command = connection.CreateCommand();
#pragma warning disable CA2100 // The mode is one of two constants.
        command.CommandText = $"PRAGMA wal_checkpoint({mode})";
#pragma warning restore CA2100
        using var reader = command.ExecuteReader();
        return reader.Read() && !reader.IsDBNull(1) ? reader.GetInt64(1) : 0;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger WAL checkpoint failed; retrying")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);
}
