using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Http;

namespace Serverless.Core.Jobs;

/// <summary>
/// The batches table. Status changes are single conditional updates, so the API (cancel) and the orchestration
/// (validated, finalized) never overwrite each other: a batch being cancelled is not set back to in_progress, and a
/// final status is never changed again.
/// </summary>
public sealed class BatchStore(IDbContextFactory<ServerlessDbContext> databases, TimeProvider time)
{
    public const int MaxListLimit = 100;

    public async Task AddAsync(BatchJob job, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        db.Add(job);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Removes a batch that could not be started (nothing of it ran).</summary>
    public async Task RemoveAsync(string id)
    {
        await using var db = await databases.CreateDbContextAsync();
        await db.Set<BatchJob>().Where(b => b.Id == id).ExecuteDeleteAsync();
    }

    /// <summary>The customer's batch, or a 404 (also when it is another customer's).</summary>
    public async Task<BatchJob> GetAsync(string customerId, string id, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BatchJob>().AsNoTracking().SingleOrDefaultAsync(b => b.Id == id && b.CustomerId == customerId, cancellationToken)
            ?? throw NotFound(id);
    }

    /// <summary>A batch by id, for its orchestration.</summary>
    public async Task<BatchJob> LoadAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BatchJob>().AsNoTracking().SingleOrDefaultAsync(b => b.Id == id, cancellationToken)
            ?? throw new InvalidOperationException($"Batch {id} does not exist.");
    }

    public async Task<string> StatusAsync(string id, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BatchJob>().Where(b => b.Id == id).Select(b => b.Status).SingleAsync(cancellationToken);
    }

    /// <summary>
    /// The customer's batches, newest first, after (older than) the batch <paramref name="after"/>; one more than asked, to
    /// tell whether there are more. <paramref name="cursorParam"/> names the cursor in the error for an unknown id.
    /// </summary>
    public async Task<IReadOnlyList<BatchJob>> ListAsync(string customerId, string? after, int limit, CancellationToken cancellationToken, string cursorParam = "after")
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Set<BatchJob>().AsNoTracking().Where(b => b.CustomerId == customerId);
        if (after is not null)
        {
            var cursor = await query.Where(b => b.Id == after).Select(b => new { b.CreatedAt, b.Id }).SingleOrDefaultAsync(cancellationToken)
                ?? throw ApiException.InvalidValue(cursorParam, $"No batch found with id '{after}'.");
            query = query.Where(b => b.CreatedAt < cursor.CreatedAt || (b.CreatedAt == cursor.CreatedAt && string.Compare(b.Id, cursor.Id) < 0));
        }

        return await query.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.Id).Take(limit + 1).ToListAsync(cancellationToken);
    }

    /// <summary>Completed and failed lines so far, for batches still running: the chunks' progress plus the lines validation refused.</summary>
    public async Task<Dictionary<string, (int Completed, int Failed)>> ProgressAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BatchChunkProgress>().AsNoTracking()
            .Where(c => ids.Contains(c.BatchId))
            .GroupBy(c => c.BatchId)
            .Select(g => new { g.Key, Completed = g.Sum(c => c.Completed), Failed = g.Sum(c => c.Failed) })
            .ToDictionaryAsync(g => g.Key, g => (g.Completed, g.Failed), cancellationToken);
    }

    /// <summary>
    /// Asks a batch to stop. Validating or running: it becomes cancelling, and its orchestration stops scheduling and
    /// finalizes. Already cancelling or cancelled: nothing changes. Finished otherwise: 409.
    /// </summary>
    public async Task<BatchJob> RequestCancelAsync(string customerId, string id, CancellationToken cancellationToken)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            UPDATE "Batches" SET "Status" = {BatchStatus.Cancelling}, "CancellingAt" = {now}
            WHERE "Id" = {id} AND "CustomerId" = {customerId} AND "Status" IN ({BatchStatus.Validating}, {BatchStatus.InProgress})
            """, cancellationToken);
        var job = await GetAsync(customerId, id, cancellationToken);
        if (job.Status is not (BatchStatus.Cancelling or BatchStatus.Cancelled))
        {
            throw new ApiException(StatusCodes.Status409Conflict, "invalid_request_error", "batch_not_cancellable",
                $"Cannot cancel a batch with status '{job.Status}'.");
        }

        return job;
    }

    /// <summary>Validation passed: record the counts and move on to in_progress, unless a cancel came first.</summary>
    public async Task MarkValidatedAsync(string id, int total, int invalid, int chunks, CancellationToken cancellationToken = default)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            UPDATE "Batches" SET "Total" = {total}, "InvalidLines" = {invalid}, "Chunks" = {chunks},
              "Status" = CASE WHEN "Status" = {BatchStatus.Validating} THEN {BatchStatus.InProgress} ELSE "Status" END,
              "InProgressAt" = COALESCE("InProgressAt", {now})
            WHERE "Id" = {id} AND "Status" IN ({BatchStatus.Validating}, {BatchStatus.Cancelling})
            """, cancellationToken);
    }

    /// <summary>The batch failed (validation, or an orchestration that could not go on).</summary>
    public async Task MarkFailedAsync(string id, BatchErrors errors, int total = 0, CancellationToken cancellationToken = default)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        string json = JsonSerializer.Serialize(errors, JobsJsonContext.Default.BatchErrors);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            UPDATE "Batches" SET "Status" = {BatchStatus.Failed}, "FailedAt" = {now}, "Errors" = {json}, "Total" = CASE WHEN {total} > 0 THEN {total} ELSE "Total" END
            WHERE "Id" = {id} AND "Status" NOT IN ({BatchStatus.Failed}, {BatchStatus.Completed}, {BatchStatus.Expired}, {BatchStatus.Cancelled})
            """, cancellationToken);
    }

    /// <summary>All chunks are done or stopped: finalizing (a batch being cancelled stays cancelling until cancelled).</summary>
    public async Task MarkFinalizingAsync(string id, CancellationToken cancellationToken = default)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            UPDATE "Batches" SET "Status" = {BatchStatus.Finalizing}, "FinalizingAt" = {now}
            WHERE "Id" = {id} AND "Status" = {BatchStatus.InProgress}
            """, cancellationToken);
    }

    /// <summary>The final status with the result files and counts; a batch already final is left as it is.</summary>
    public async Task<bool> MarkFinishedAsync(string id, string status, int completed, int failed, string? outputFileId, string? errorFileId, CancellationToken cancellationToken = default)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long? completedAt = status == BatchStatus.Completed ? now : null;
        long? expiredAt = status == BatchStatus.Expired ? now : null;
        long? cancelledAt = status == BatchStatus.Cancelled ? now : null;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        int updated = await db.Database.ExecuteSqlAsync($"""
            UPDATE "Batches" SET "Status" = {status}, "Completed" = {completed}, "Failed" = {failed},
              "OutputFileId" = {outputFileId}, "ErrorFileId" = {errorFileId},
              "FinalizingAt" = COALESCE("FinalizingAt", {now}),
              "CompletedAt" = {completedAt}, "ExpiredAt" = {expiredAt}, "CancelledAt" = {cancelledAt}
            WHERE "Id" = {id} AND "Status" NOT IN ({BatchStatus.Failed}, {BatchStatus.Completed}, {BatchStatus.Expired}, {BatchStatus.Cancelled})
            """, cancellationToken);
        if (updated > 0)
        {
            await db.Set<BatchChunkProgress>().Where(c => c.BatchId == id).ExecuteDeleteAsync(cancellationToken);
        }

        return updated > 0;
    }

    /// <summary>
    /// Why the key that created a batch may no longer run its lines (revoked, expired, or its customer disabled), or
    /// null. Checked per chunk: a batch does not outlive the credentials it was created with.
    /// </summary>
    public async Task<string?> CredentialProblemAsync(string keyId, CancellationToken cancellationToken = default)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var key = await db.Set<Keys.ApiKey>().AsNoTracking()
            .Where(k => k.KeyId == keyId)
            .Select(k => new { k.RevokedAt, k.ExpiresAt, k.Customer.Disabled })
            .SingleOrDefaultAsync(cancellationToken);
        var now = time.GetUtcNow();
        return key switch
        {
            null => "The API key that created this batch no longer exists.",
            { RevokedAt: not null } => "The API key that created this batch was revoked.",
            { ExpiresAt: { } expires } when expires <= now => "The API key that created this batch has expired.",
            { Disabled: true } => "The account of this batch is disabled.",
            _ => null,
        };
    }

    /// <summary>The output lines the ledger stored with the records of these batch lines (completed lines only).</summary>
    public async Task<Dictionary<string, string>> StoredResultsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BatchLineResult>().AsNoTracking().Where(r => requestIds.Contains(r.RequestId)).ToDictionaryAsync(r => r.RequestId, r => r.Result, cancellationToken);
    }

    /// <summary>Drops the stored output lines of a batch whose files are written.</summary>
    public async Task DeleteLineResultsAsync(string batchId, CancellationToken cancellationToken = default)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Set<BatchLineResult>().Where(r => r.BatchId == batchId).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>A chunk's counts so far; written again with the same or larger counts, so repeating it is harmless.</summary>
    public async Task SetProgressAsync(string id, int chunk, int completed, int failed, CancellationToken cancellationToken = default)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO "BatchChunks" ("BatchId", "Chunk", "Completed", "Failed", "UpdatedAt") VALUES ({id}, {chunk}, {completed}, {failed}, {now})
            ON CONFLICT ("BatchId", "Chunk") DO UPDATE SET "Completed" = excluded."Completed", "Failed" = excluded."Failed", "UpdatedAt" = excluded."UpdatedAt"
            """, cancellationToken);
    }

    public static ApiException NotFound(string id) =>
        ApiException.NotFound($"No batch found with id '{id}'.", "batch_not_found", "batch_id");
}
