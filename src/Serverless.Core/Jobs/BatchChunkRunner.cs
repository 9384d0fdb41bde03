using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;

namespace Serverless.Core.Jobs;

/// <summary>
/// One chunk of a batch (an activity): runs its lines, a few at a time, appending each result to the chunk's
/// results; records progress as it goes and stops starting lines once the batch is being cancelled or its window
/// has passed. Lines that already have a record from an earlier attempt are answered from that attempt's result.
/// </summary>
public sealed partial class BatchChunkRunner(
    BatchStore batches,
    BatchWorkspace workspace,
    BatchLineRunner lines,
    IOptions<BatchOptions> options,
    TimeProvider time,
    ILogger<BatchChunkRunner> logger)
{
    private readonly BatchOptions _options = options.Value;

    public async Task<ChunkOutcome> RunAsync(ChunkRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var job = await batches.LoadAsync(request.BatchId, cancellationToken);
        if (StopReason(job.Status, job.ExpiresAt) is { } early)
        {
            return new ChunkOutcome(0, 0, early);
        }

        var input = new List<BatchInputLine>();
        await foreach (var line in workspace.ReadLinesAsync(BatchWorkspace.ChunkBlob(job.Id, request.Chunk), cancellationToken))
        {
            using var document = JsonDocument.Parse(line.Bytes);
            var root = document.RootElement;
            input.Add(new BatchInputLine(root.GetProperty("index").GetInt32(), root.GetProperty("custom_id").GetString()!, root.GetProperty("body").Clone()));
        }

        var earlier = await EarlierSuccessesAsync(job.Id, request.Chunk, cancellationToken);
        var caller = new ApiCaller(job.KeyId, job.CustomerId, job.ModelScope.Split(',', StringSplitOptions.RemoveEmptyEntries));
        var outcomes = new ConcurrentDictionary<int, bool>();
        using var stop = new CancellationTokenSource();
        using var results = await workspace.OpenResultsAsync(job.Id, request.Chunk, cancellationToken);
        if (await batches.CredentialProblemAsync(job.KeyId, cancellationToken) is { } problem)
        {
            // Lines an earlier attempt settled keep their results; the others are refused as the route would refuse the key.
            var refusal = ApiException.InvalidApiKey(problem);
            var settled = await batches.SettledAsync(input.Select(l => BatchLines.RequestId(job.Id, l.Index)).ToList(), cancellationToken);
            foreach (var line in input)
            {
                bool kept = settled.Contains(BatchLines.RequestId(job.Id, line.Index)) && earlier.ContainsKey(line.Index);
                await results.AppendAsync(kept ? earlier[line.Index] : BatchLines.Entry(line.Index, false, BatchLines.ErrorResponse(job.Id, line.Index, line.CustomId, refusal)), cancellationToken);
                outcomes[line.Index] = kept;
            }

            var (done, refused) = Count(outcomes);
            await batches.SetProgressAsync(job.Id, request.Chunk, done, refused, cancellationToken);
            return new ChunkOutcome(done, refused, null);
        }

        string? stopped = null;
        long ticket = lines.NextChunkTicket();
        var watcher = WatchAsync(job, request.Chunk, outcomes, stop, reason => stopped ??= reason, cancellationToken);
        try
        {
            await Parallel.ForEachAsync(input, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentLines, CancellationToken = cancellationToken }, async (line, token) =>
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }

                if (await lines.RunAsync(job, caller, line, earlier.GetValueOrDefault(line.Index), results, ticket, stop.Token, token) is bool ok)
                {
                    outcomes[line.Index] = ok;
                }
            });
        }
        finally
        {
            await stop.CancelAsync();
            await watcher;
        }

        var (completed, failed) = Count(outcomes);
        await batches.SetProgressAsync(job.Id, request.Chunk, completed, failed, cancellationToken);
        if (outcomes.Count < input.Count)
        {
            stopped ??= StopReason(await batches.StatusAsync(job.Id, cancellationToken), job.ExpiresAt) ?? BatchStatus.Cancelled;
            LogStopped(logger, job.Id, request.Chunk, input.Count - outcomes.Count, stopped);
        }

        return new ChunkOutcome(completed, failed, outcomes.Count < input.Count ? stopped : null);
    }

    private static (int Completed, int Failed) Count(ConcurrentDictionary<int, bool> outcomes)
    {
        int completed = outcomes.Values.Count(ok => ok);
        return (completed, outcomes.Count - completed);
    }

    private string? StopReason(string status, DateTimeOffset expiresAt) =>
        status is BatchStatus.Cancelling or BatchStatus.Cancelled ? BatchStatus.Cancelled
        : time.GetUtcNow() >= expiresAt ? BatchStatus.Expired
        : null;

    // Progress for the batch object, and the signal to stop: a cancel request, or the end of the completion window.
    private async Task WatchAsync(BatchJob job, int chunk, ConcurrentDictionary<int, bool> outcomes, CancellationTokenSource stop, Action<string> stopping, CancellationToken cancellationToken)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ProgressInterval, time, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var (completed, failed) = Count(outcomes);
                await batches.SetProgressAsync(job.Id, chunk, completed, failed, cancellationToken);
                if (StopReason(await batches.StatusAsync(job.Id, cancellationToken), job.ExpiresAt) is { } reason)
                {
                    stopping(reason);
                    await stop.CancelAsync();
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Progress is informative; the chunk goes on, and the next tick tries again.
                LogWatchFailed(logger, ex, job.Id, chunk);
            }
        }
    }

    // The last successful result each line got in an earlier attempt of this chunk, to answer lines already settled.
    private async Task<Dictionary<int, byte[]>> EarlierSuccessesAsync(string batchId, int chunk, CancellationToken cancellationToken)
    {
        var earlier = new Dictionary<int, byte[]>();
        await foreach (var line in workspace.ReadLinesAsync(BatchWorkspace.ResultsBlob(batchId, chunk), cancellationToken))
        {
            if (BatchResultEntry.TryParse(line.Bytes!, out var entry) && entry.Ok)
            {
                earlier[entry.Index] = line.Bytes!;
            }
        }

        return earlier;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} chunk {Chunk}: {Skipped} lines not started ({Reason})")]
    private static partial void LogStopped(ILogger logger, string batchId, int chunk, int skipped, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {BatchId} chunk {Chunk}: progress could not be recorded")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string batchId, int chunk);
}

/// <summary>A result entry read back from a chunk's results: the line's index, whether it succeeded, and the output or error line.</summary>
public readonly record struct BatchResultEntry(int Index, bool Ok, ReadOnlyMemory<byte> Line)
{
    /// <summary>False for a line that is not a whole entry (the torn end of an append interrupted by a crash).</summary>
    public static bool TryParse(byte[] bytes, out BatchResultEntry entry)
    {
        entry = default;
        try
        {
            var reader = new Utf8JsonReader(bytes);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("index", out var index) || !root.TryGetProperty("ok", out var ok) || !root.TryGetProperty("line", out var line))
            {
                return false;
            }

            entry = new BatchResultEntry(index.GetInt32(), ok.GetBoolean(), System.Text.Encoding.UTF8.GetBytes(line.GetRawText()));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
