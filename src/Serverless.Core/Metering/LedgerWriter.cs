using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SQLitePCL;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Metering;

/// <summary>
/// The ledger's single writer per process, with group commit: every command waiting when a transaction starts
/// joins it, and all of them complete only after that transaction committed durably. Under load a commit
/// carries hundreds of records; at one client it carries one, so latency stays one fsync. On PostgreSQL a batch is
/// at most two round trips whatever its size: read (policies, prices, the reservations it settles); write (one
/// statement per table) and commit; one when the reads can be taken from what the writer last saw and checked in the
/// writing round trip (<see cref="LedgerBatch.OneRoundTrip"/>). Its rate windows and budgets take one of two paths:
/// guarded (the default: nothing read or locked up front, increments checked against the limits just before the
/// commit) or, near a limit or after a guard failed, locking (every row locked and read in the first round trip); see
/// <see cref="LedgerBatch.Guarded"/>.
/// </summary>
public sealed partial class LedgerWriter : IAsyncDisposable
{
    private readonly Channel<LedgerCommand> _queue = Channel.CreateUnbounded<LedgerCommand>(new UnboundedChannelOptions { SingleReader = true });
    private readonly LedgerConnections _connections;
    private readonly ILogger<LedgerWriter> _logger;
    private readonly int _maxBatch;
    private readonly Task _loop;
    private readonly LedgerCheckpointer? _checkpointer;
    private readonly Dictionary<string, DbCommand> _prepared = new(StringComparer.Ordinal);
    private readonly LedgerBatchCache _cache = new();
    private readonly LedgerStatements? _statements;
    private readonly PostgresHints? _hints;
    private DbConnection? _connection;
    private long? _dataVersion;

    // A new connection starts with synchronous=FULL (LedgerConnections.OpenForWriting).
    private bool _synced = true;
    private readonly ServerlessMetrics? _metrics;
    private long _commits;
    private long _commands;
    private long _guardedCommits;
    private long _lockingRetries;
    private long _conflictRetries;
    private long _oneRoundTripCommits;
    private long _readingRetries;

    public LedgerWriter(LedgerConnections connections, IOptions<MeteringOptions> options, ILogger<LedgerWriter> logger, ServerlessMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connections = connections;
        _metrics = metrics;
        _logger = logger;
        _maxBatch = options.Value.MaxBatchSize;
        _checkpointer = connections.IsSqlite ? new LedgerCheckpointer(connections, logger) : null;
        _statements = connections.IsSqlite ? new LedgerStatements() : null;
        _hints = connections.IsSqlite ? null : new PostgresHints();
        _loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Transactions committed so far.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>SQLite: what checkpoints the WAL beside this writer.</summary>
    internal LedgerCheckpointer? Checkpointer => _checkpointer;

    /// <summary>Commands committed so far.</summary>
    public long CommandsCommitted => Interlocked.Read(ref _commands);

    /// <summary>PostgreSQL: transactions that changed rate windows or budgets on the guarded path (the others locked them).</summary>
    public long GuardedCommits => Interlocked.Read(ref _guardedCommits);

    /// <summary>PostgreSQL: transactions committed in one round trip, on what the writer last saw (<see cref="LedgerBatch.OneRoundTrip"/>).</summary>
    public long OneRoundTripCommits => Interlocked.Read(ref _oneRoundTripCommits);

    /// <summary>PostgreSQL: one-round-trip batches rolled back because a check or guard failed, and run again with their reads.</summary>
    public long ReadingRetries => Interlocked.Read(ref _readingRetries);

    /// <summary>Batches retried after a transient conflict with another writer (PostgreSQL: a deadlock or serialization failure).</summary>
    public long ConflictRetries => Interlocked.Read(ref _conflictRetries);

    /// <summary>PostgreSQL: batches rolled back on the guarded path and run again on the locking path (a guard failed, a request was refused, or a limit was near).</summary>
    public long LockingRetries => Interlocked.Read(ref _lockingRetries);

    internal Task<TResult> SubmitAsync<TResult>(LedgerCommand<TResult> command)
    {
        if (!_queue.Writer.TryWrite(command))
        {
            command.Fail(new LedgerUnavailableException("The ledger writer has stopped."));
        }

        return command.Completion;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        ResetConnection();
        if (_checkpointer is not null)
        {
            await _checkpointer.DisposeAsync();
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<LedgerCommand>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var command))
            {
                batch.Add(command);
            }

            try
            {
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                ExecuteWithRetries(batch);
                _metrics?.RecordLedgerCommit(System.Diagnostics.Stopwatch.GetElapsedTime(started), batch.Count);
                Interlocked.Increment(ref _commits);
                Interlocked.Add(ref _commands, batch.Count);
                foreach (var command in batch)
                {
                    command.Complete();
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogBatchFailed(_logger, ex, batch.Count);
                ResetConnection();
                var failure = new LedgerUnavailableException("The usage ledger could not be written.", ex);
                foreach (var command in batch)
                {
                    command.Fail(failure);
                }
            }

            batch.Clear();
        }
    }

    private void ExecuteWithRetries(List<LedgerCommand> commands)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                ExecuteBatch(commands);
                return;
            }
            catch (Exception ex) when (attempt < MaxAttempts && LedgerConnections.IsTransient(ex))
            {
                LogBatchRetried(_logger, ex, commands.Count, attempt);
                Interlocked.Increment(ref _conflictRetries);
                ResetConnection();
            }
        }
    }

    private void ExecuteBatch(List<LedgerCommand> commands)
    {
        _connection ??= _connections.OpenForWriting();
        if (_connection is not SqliteConnection sqlite)
        {
            ExecutePostgres(commands);
            return;
        }

        SetSync(sqlite, commands);

        // BEGIN IMMEDIATE: the write lock from the first statement is what makes the batch's in-memory counters
        // (LedgerCounters) exact.
        using var transaction = sqlite.BeginTransaction(deferred: false);
        var batch = new LedgerBatch(_connection, transaction, _prepared, _cache, _statements, _connections.CommandTimeoutSeconds);
        KeepOrForgetCache(batch);
        foreach (var command in commands)
        {
            command.Execute(batch);
        }

        batch.Flush();
        transaction.Commit();
        _checkpointer?.Written(PagesWritten(sqlite));
    }

    // PostgreSQL: the batch opens and commits its transaction itself, riding on its round trips (LedgerBatch.Commit).
    // One round trip reads what the commands need (PostgresPrefetch), the commands run in memory, and their writes go
    // in one more round trip with the COMMIT; when every command can run on what the writer last saw, the reads are
    // skipped and checked in that one round trip instead (LedgerBatch.OneRoundTrip). A batch that cannot finish on its
    // path is rolled back and run again on the next one: one round trip → guarded → locking. A request refused on
    // hints, or a limit near, goes to the locking path at once, which then stays for a while (PostgresHints.StartLocking).
    private void ExecutePostgres(List<LedgerCommand> commands)
    {
        var hints = _hints!;
        bool guarded = hints.Guarded;
        bool oneRoundTrip = guarded && commands.TrueForAll(command => command.CanRunOnHints(hints));
        while (true)
        {
            _cache.Clear();
            var batch = new LedgerBatch(_connection!, null, _prepared, _cache, null, _connections.CommandTimeoutSeconds)
            {
                Guarded = guarded,
                OneRoundTrip = oneRoundTrip,
                Hints = hints,
            };
            try
            {
                var prefetch = new PostgresPrefetch { LocksCounters = !guarded };
                foreach (var command in commands)
                {
                    command.Declare(prefetch);
                }

                prefetch.Run(batch);
                foreach (var command in commands)
                {
                    command.Execute(batch);
                }

                if (guarded && (batch.NeedsLocks || batch.Counters.NearLimits()))
                {
                    LeaveGuardedPath(batch, commands.Count, "a request was refused or a limit is near");
                    (guarded, oneRoundTrip) = (false, false);
                    continue;
                }

                batch.Flush();
                batch.Commit();
            }
            catch (LedgerGuardFailedException ex)
            {
                // A check of the one round trip (a policy, a price or a reservation differed from what the writer last
                // saw) or a guard: the reading path next, which then finds out which.
                Rollback(batch);
                if (oneRoundTrip)
                {
                    oneRoundTrip = false;
                    Interlocked.Increment(ref _readingRetries);
                    continue;
                }

                LeaveGuardedPath(batch, commands.Count, ex.Message);
                guarded = false;
                continue;
            }

            if (oneRoundTrip)
            {
                Interlocked.Increment(ref _oneRoundTripCommits);
            }
            else
            {
                hints.SeenReads(_cache);
            }

            if (!guarded)
            {
                hints.SeenLocked(_cache);
            }
            else if (_cache.Windows.Count + _cache.Budgets.Count > 0)
            {
                Interlocked.Increment(ref _guardedCommits);
            }

            return;
        }
    }

    private void Rollback(LedgerBatch batch)
    {
        if (batch.Begun)
        {
            using var rollback = new Npgsql.NpgsqlCommand("ROLLBACK", (Npgsql.NpgsqlConnection)_connection!);
            rollback.ExecuteNonQuery();
        }
    }

    private void LeaveGuardedPath(LedgerBatch batch, int count, string reason)
    {
        Rollback(batch);
        _hints!.StartLocking();
        Interlocked.Increment(ref _lockingRetries);
        LogLockingPath(_logger, count, reason);
    }

    // The pages this connection has written to the WAL since the last call (SQLite counts them per connection).
    private static long PagesWritten(SqliteConnection sqlite) =>
        raw.sqlite3_db_status(sqlite.Handle, raw.SQLITE_DBSTATUS_CACHE_WRITE, out int pages, out _, 1) == raw.SQLITE_OK ? pages : 0;

    // Commits are fsynced (synchronous=FULL) unless no command in the batch needs it (LedgerCommand.NeedsSync): an
    // admission whose request answers only after its settlement committed is made durable by that settlement's fsync,
    // since the WAL is synced in order, so at one client a request pays one fsync instead of two. Switched only when
    // the batch differs from the last, between transactions.
    private void SetSync(SqliteConnection sqlite, List<LedgerCommand> commands)
    {
        bool sync = commands.Exists(static command => command.NeedsSync);
        if (sync != _synced)
        {
            _statements!.Run(sqlite, sync ? LedgerSql.SynchronousFull : LedgerSql.SynchronousNormal, []);
            _synced = sync;
        }
    }

    // What the writer remembers from earlier transactions holds only while no other connection has committed since
    // (SQLite's data_version, read under this transaction's write lock, changes exactly then: an admin changing a
    // policy, a sweep by another process, a test editing rows). On PostgreSQL other instances write all the time.
    private void KeepOrForgetCache(LedgerBatch batch)
    {
        long version = batch.ExecuteInt64(LedgerSql.DataVersion);
        if (version != _dataVersion)
        {
            _cache.Clear();
            _dataVersion = version;
        }

        _cache.Trim();
    }

    // After a failure the connection may be broken; start over with a fresh one and freshly prepared commands. What
    // the writer remembered may include changes that were rolled back.
    private void ResetConnection()
    {
        _cache.Clear();
        _dataVersion = null;
        _synced = true;
        foreach (var command in _prepared.Values)
        {
            command.Dispose();
        }

        _prepared.Clear();
        _statements?.Dispose();
        _connection?.Dispose();
        _connection = null;
    }

    private const int MaxAttempts = 3;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger batch of {Count} commands hit a transient conflict (attempt {Attempt}); retrying")]
    private static partial void LogBatchRetried(ILogger logger, Exception exception, int count, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ledger batch of {Count} commands goes to the locking path: {Reason}")]
    private static partial void LogLockingPath(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Ledger batch of {Count} commands failed and was rolled back")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);
}
