using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;

namespace Serverless.Core.Jobs;

/// <summary>
/// One chunk of a batch (an activity): runs its lines a few at a time, records progress as it goes, stops starting
/// lines once the batch is being cancelled or its window has passed, and writes the chunk's results to blob storage.
/// Run again after a crash, it answers the lines the ledger already recorded with their stored output and resumes the
/// ones that were generating, so no line is billed twice.
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

        var outcomes = new ConcurrentDictionary<int, BatchLineOutcome>();
        string? stopped = null;
        if (await batches.CredentialProblemAsync(job.KeyId, cancellationToken) is { } problem)
        {
            await RefuseAsync(job, input, problem, outcomes, cancellationToken);
        }
        else
        {
            stopped = await RunLinesAsync(job, request.Chunk, input, outcomes, cancellationToken);
        }

        await workspace.WriteLinesAsync(BatchWorkspace.ResultsBlob(job.Id, request.Chunk), outcomes.Values.OrderBy(o => o.Index).Select(o => o.Entry), cancellationToken);
        var (completed, failed) = Count(outcomes);
        await batches.SetProgressAsync(job.Id, request.Chunk, completed, failed, cancellationToken);
        if (outcomes.Count < input.Count)
        {
            stopped ??= StopReason(await batches.StatusAsync(job.Id, cancellationToken), job.ExpiresAt) ?? BatchStatus.Cancelled;
            LogStopped(logger, job.Id, request.Chunk, input.Count - outcomes.Count, stopped);
            return new ChunkOutcome(completed, failed, stopped);
        }

        return new ChunkOutcome(completed, failed, null);
    }

    private async Task<string?> RunLinesAsync(BatchJob job, int chunk, List<BatchInputLine> input, ConcurrentDictionary<int, BatchLineOutcome> outcomes, CancellationToken cancellationToken)
    {
        // The permission was checked when the batch was created; lines run with the model scope the key had then.
        var caller = new ApiCaller(job.KeyId, job.CustomerId, job.ModelScope.Split(',', StringSplitOptions.RemoveEmptyEntries), []);
        long ticket = lines.NextChunkTicket();
        string? stopped = null;
        using var stop = new CancellationTokenSource();
        var watcher = WatchAsync(job, chunk, outcomes, stop, reason => stopped ??= reason, cancellationToken);
        try
        {
            await Parallel.ForEachAsync(input, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentLines, CancellationToken = cancellationToken }, async (line, token) =>
            {
                if (!stop.IsCancellationRequested && await lines.RunAsync(job, caller, line, ticket, stop.Token, token) is { } outcome)
                {
                    outcomes[line.Index] = outcome;
                }
            });
        }
        finally
        {
            await stop.CancelAsync();
            await watcher;
        }

        return stopped;
    }

    // The key that created the batch can no longer be used: lines the ledger already recorded keep their stored output,
    // the others are refused as the route would refuse the key.
    private async Task RefuseAsync(BatchJob job, List<BatchInputLine> input, string problem, ConcurrentDictionary<int, BatchLineOutcome> outcomes, CancellationToken cancellationToken)
    {
        var refusal = ApiException.InvalidApiKey(problem);
        var stored = await batches.StoredResultsAsync(input.Select(l => BatchLines.RequestId(job.Id, l.Index)).ToList(), cancellationToken);
        foreach (var line in input)
        {
            outcomes[line.Index] = stored.TryGetValue(BatchLines.RequestId(job.Id, line.Index), out string? output)
                ? BatchLineOutcome.Succeeded(line.Index, Encoding.UTF8.GetBytes(output))
                : BatchLineOutcome.Failed(line.Index, BatchLines.ErrorResponse(job.Id, line.Index, line.CustomId, refusal));
        }
    }

    private static (int Completed, int Failed) Count(ConcurrentDictionary<int, BatchLineOutcome> outcomes)
    {
        int completed = outcomes.Values.Count(o => o.Ok);
        return (completed, outcomes.Count - completed);
    }

    private string? StopReason(string status, DateTimeOffset expiresAt) =>
        status is BatchStatus.Cancelling or BatchStatus.Cancelled ? BatchStatus.Cancelled
        : time.GetUtcNow() >= expiresAt ? BatchStatus.Expired
        : null;

    // Progress for the batch object, and the signal to stop: a cancel request, or the end of the completion window.
    private async Task WatchAsync(BatchJob job, int chunk, ConcurrentDictionary<int, BatchLineOutcome> outcomes, CancellationTokenSource stop, Action<string> stopping, CancellationToken cancellationToken)
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} chunk {Chunk}: {Skipped} lines not started ({Reason})")]
    private static partial void LogStopped(ILogger logger, string batchId, int chunk, int skipped, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {BatchId} chunk {Chunk}: progress could not be recorded")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string batchId, int chunk);
}
