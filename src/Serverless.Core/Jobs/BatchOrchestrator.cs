using Microsoft.DurableTask;

namespace Serverless.Core.Jobs;

/// <summary>
/// One batch, written once against <see cref="TaskOrchestrationContext"/> and run unchanged by Durable Functions and
/// by DurableTask.Core on Azure Storage: validate, fan chunks out to activities with bounded parallelism, stop
/// scheduling on cancel or at the end of the completion window (chunks in flight finish their current lines), then
/// finalize the output and error files. Input: the batch id (also the instance id). Output: the final status.
/// </summary>
public sealed class BatchOrchestrator : TaskOrchestrator<string, string>
{
    public const string Name = nameof(BatchOrchestrator);

    // Activities are retried (transient storage or ledger trouble); a line is never billed twice by a retry because
    // its request id is stable and the ledger resumes it (see AdmissionRequest.BatchId).
    private static readonly RetryPolicy DefaultRetry = new(5, TimeSpan.FromSeconds(2), 2, TimeSpan.FromMinutes(1));

    private readonly TaskOptions _retry;

    public BatchOrchestrator()
        : this(DefaultRetry)
    {
    }

    /// <param name="retry">How activities are retried (tests shorten it).</param>
    public BatchOrchestrator(RetryPolicy retry)
    {
        _retry = new TaskOptions(new TaskRetryOptions(retry));
    }

    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        ArgumentNullException.ThrowIfNull(context);
        string batchId = input;
        try
        {
            var plan = await context.CallActivityAsync<BatchPlan>(BatchActivityNames.Validate, batchId, _retry);
            if (!plan.Valid)
            {
                return BatchStatus.Failed;
            }

            string? stopped = await RunChunksAsync(context, batchId, plan, _retry);
            return await context.CallActivityAsync<string>(BatchActivityNames.Finalize, new FinalizeRequest(batchId, stopped), _retry);
        }
        catch (TaskFailedException ex)
        {
            await context.CallActivityAsync(BatchActivityNames.Fail, new FailRequest(batchId, ex.FailureDetails.ErrorMessage), _retry);
            return BatchStatus.Failed;
        }
    }

    private static async Task<string?> RunChunksAsync(TaskOrchestrationContext context, string batchId, BatchPlan plan, TaskOptions retry)
    {
        using var stopTimer = new CancellationTokenSource();
        var expiry = context.CreateTimer(plan.ExpiresAt.UtcDateTime, stopTimer.Token);
        var running = new List<Task<ChunkOutcome>>();
        string? stopped = null;
        int next = 0;
        // At most one pass per chunk (MaxLines / ChunkSize), so the history stays bounded without ContinueAsNew.
        while (running.Count > 0 || (stopped is null && next < plan.Chunks))
        {
            while (stopped is null && next < plan.Chunks && running.Count < plan.MaxParallelChunks)
            {
                running.Add(context.CallActivityAsync<ChunkOutcome>(BatchActivityNames.RunChunk, new ChunkRequest(batchId, next++), retry));
            }

            var done = stopped is null ? await Task.WhenAny([.. running, expiry]) : await Task.WhenAny(running);
            if (done == expiry)
            {
                // The chunks in flight see the deadline too and stop after their current lines.
                stopped = BatchStatus.Expired;
                continue;
            }

            var chunk = (Task<ChunkOutcome>)done;
            running.Remove(chunk);
            stopped ??= (await chunk).Stopped;
        }

        if (!expiry.IsCompleted)
        {
            // An orchestrator awaits only durable tasks; cancelling the timer is a plain synchronous call.
#pragma warning disable CA1849
            stopTimer.Cancel();
#pragma warning restore CA1849
        }

        return stopped;
    }
}
