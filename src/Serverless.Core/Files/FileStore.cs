using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Http;

namespace Serverless.Core.Files;

/// <summary>
/// Customers' files: content in one blob container, metadata (owner, name, purpose, size) in the database. Every
/// lookup is by owner and id, so another customer's file is indistinguishable from one that does not exist.
/// </summary>
public sealed partial class FileStore(
    BlobServiceClient blobs,
    IDbContextFactory<ServerlessDbContext> databases,
    IOptions<FilesOptions> options,
    TimeProvider time,
    ILogger<FileStore> logger)
{
    public const int MaxListLimit = 10_000;

    private readonly FilesOptions _options = options.Value;
    private Task<BlobContainerClient>? _container;

    public long MaxUploadBytes => _options.MaxUploadBytes;

    public FilesOptions Options => _options;

    /// <summary>The container, created on first use.</summary>
    public Task<BlobContainerClient> ContainerAsync()
    {
        // Created once; a failed attempt (storage not reachable yet) is tried again by the next caller.
        var container = _container;
        if (container is null || container.IsFaulted || container.IsCanceled)
        {
            container = _container = CreateContainerAsync(blobs, _options.Container);
        }

        return container;
    }

    /// <summary>Stores an upload's content under a new file id; throws <see cref="FileTooLargeException"/> past the limit. </summary>
    public Task<UploadedContent> UploadContentAsync(Stream content, CancellationToken cancellationToken) =>
        UploadContentAsync(content, _options.MaxUploadBytes, cancellationToken);

    /// <summary>Stores an upload's content under a new file id; throws <see cref="FileTooLargeException"/> past <paramref name="limit"/> bytes.</summary>
    public async Task<UploadedContent> UploadContentAsync(Stream content, long limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        string id = Ids.New("file-");
        string blobName = BlobNameOf(id);
        var blob = (await ContainerAsync()).GetBlockBlobClient(blobName);
        var bounded = new BoundedReadStream(content, limit);
        try
        {
            await blob.UploadAsync(bounded, new BlobUploadOptions(), cancellationToken);
        }
        catch (Exception) when (bounded.Exceeded)
        {
            // The SDK may wrap what the stream threw; what matters is that the limit was hit. Blocks staged so far are
            // never committed, and storage drops uncommitted blocks by itself.
            throw new FileTooLargeException(limit);
        }

        return new UploadedContent(id, blobName, bounded.BytesRead);
    }

    /// <summary>The customer's live (not expired) files: how many, and their total size in bytes.</summary>
    public async Task<FileUsage> UsageAsync(string customerId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var live = db.Set<StoredFile>().AsNoTracking().Where(f => f.CustomerId == customerId && (f.ExpiresAt == null || f.ExpiresAt > now));
        int files = await live.CountAsync(cancellationToken);
        long bytes = await live.SumAsync(f => f.Bytes, cancellationToken);
        return new FileUsage(files, bytes);
    }

    /// <summary>The 400 file_quota_exceeded an upload gets when the customer's files would pass a quota.</summary>
    public ApiException QuotaExceeded(FileUsage usage, long? uploadBytes = null)
    {
        ArgumentNullException.ThrowIfNull(usage);
        string upload = uploadBytes is long bytes ? FormattableString.Invariant($" This upload is {bytes} bytes.") : string.Empty;
        return new ApiException(400, "invalid_request_error", "file_quota_exceeded", FormattableString.Invariant(
            $"File quota exceeded: a customer may keep at most {_options.MaxFilesPerCustomer} files and {_options.MaxBytesPerCustomer} bytes (Files:MaxFilesPerCustomer, Files:MaxBytesPerCustomer); you have {usage.Files} files using {usage.Bytes} bytes.{upload} Delete files you no longer need (DELETE /v1/files/{{file_id}}) or upload them with expires_after."), "file");
    }

    /// <summary>Whether <paramref name="usage"/> leaves room for one more file (of unknown size).</summary>
    public bool HasRoom(FileUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return usage.Files < _options.MaxFilesPerCustomer && usage.Bytes < _options.MaxBytesPerCustomer;
    }

    /// <summary>
    /// Records an uploaded file as the customer's, within the customer's quotas. The record is inserted, then the
    /// customer's live files are counted again (they include every upload that committed before this count): over a
    /// quota, the record is deleted again and the upload refused with <see cref="QuotaExceeded"/>. Of uploads racing
    /// each other, the last to count sees all the others, so the files kept never pass a quota (racing uploads may
    /// both be refused, never both kept over it); no lock or isolation level of one provider is needed.
    /// </summary>
    public async Task<StoredFile> AddAsync(string customerId, string id, string blobName, string filename, string purpose, long bytes, TimeSpan? expiresAfter, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var file = new StoredFile
        {
            Id = id,
            CustomerId = customerId,
            Filename = filename,
            Purpose = purpose,
            Bytes = bytes,
            BlobName = blobName,
            CreatedAt = now,
            ExpiresAt = now + (expiresAfter ?? _options.DefaultExpiry),
        };
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        db.Add(file);
        await db.SaveChangesAsync(cancellationToken);
        var usage = await UsageAsync(customerId, CancellationToken.None);
        if (usage.Files > _options.MaxFilesPerCustomer || usage.Bytes > _options.MaxBytesPerCustomer)
        {
            await db.Set<StoredFile>().Where(f => f.Id == id).ExecuteDeleteAsync(CancellationToken.None);
            throw QuotaExceeded(new FileUsage(usage.Files - 1, usage.Bytes - bytes), bytes);
        }

        return file;
    }

    /// <summary>
    /// Writes a file the service produces (a batch's output or error file) under a fixed id, replacing any earlier
    /// attempt: writing it twice leaves one file.
    /// </summary>
    public async Task<StoredFile> WriteAsync(string customerId, string id, string filename, string purpose, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        string blobName = BlobNameOf(id);
        var blob = (await ContainerAsync()).GetBlockBlobClient(blobName);
        long bytes;
        await using (var stream = await blob.OpenWriteAsync(overwrite: true, cancellationToken: cancellationToken))
        {
            var counting = new CountingWriteStream(stream);
            await write(counting);
            await counting.FlushAsync(cancellationToken);
            bytes = counting.BytesWritten;
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var file = await db.Set<StoredFile>().SingleOrDefaultAsync(f => f.Id == id, cancellationToken);
        if (file is null)
        {
            // Never refused for a quota (the batch has run; its results must land), but counted in it like an upload.
            var now = time.GetUtcNow();
            file = new StoredFile { Id = id, CustomerId = customerId, Filename = filename, Purpose = purpose, BlobName = blobName, CreatedAt = now, ExpiresAt = now + _options.DefaultExpiry };
            db.Add(file);
        }

        file.Bytes = bytes;
        await db.SaveChangesAsync(cancellationToken);
        return file;
    }

    /// <summary>The customer's file with this id, or null (also when it is another customer's, or has expired).</summary>
    public async Task<StoredFile?> FindAsync(string customerId, string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<StoredFile>().AsNoTracking()
            .SingleOrDefaultAsync(f => f.Id == id && f.CustomerId == customerId && (f.ExpiresAt == null || f.ExpiresAt > now), cancellationToken);
    }

    /// <summary>The customer's file or a 404 in OpenAI's words.</summary>
    public async Task<StoredFile> GetAsync(string customerId, string id, CancellationToken cancellationToken, string param = "file_id") =>
        await FindAsync(customerId, id, cancellationToken) ?? throw NotFound(id, param);

    public static ApiException NotFound(string id, string param = "file_id") =>
        ApiException.NotFound($"No such File object: {id}", "file_not_found", param);

    /// <summary>The customer's files, newest first (or oldest first), after the file <paramref name="after"/>, one more than asked to tell whether there are more.</summary>
    public async Task<IReadOnlyList<StoredFile>> ListAsync(string customerId, string? purpose, string? after, int limit, bool ascending, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var query = db.Set<StoredFile>().AsNoTracking().Where(f => f.CustomerId == customerId && (f.ExpiresAt == null || f.ExpiresAt > now));
        if (purpose is not null)
        {
            query = query.Where(f => f.Purpose == purpose);
        }

        if (after is not null)
        {
            var cursor = await query.Where(f => f.Id == after).Select(f => new { f.CreatedAt, f.Id }).SingleOrDefaultAsync(cancellationToken)
                ?? throw ApiException.InvalidValue("after", $"No such File object: {after}");
            query = ascending
                ? query.Where(f => f.CreatedAt > cursor.CreatedAt || (f.CreatedAt == cursor.CreatedAt && string.Compare(f.Id, cursor.Id) > 0))
                : query.Where(f => f.CreatedAt < cursor.CreatedAt || (f.CreatedAt == cursor.CreatedAt && string.Compare(f.Id, cursor.Id) < 0));
        }

        query = ascending ? query.OrderBy(f => f.CreatedAt).ThenBy(f => f.Id) : query.OrderByDescending(f => f.CreatedAt).ThenByDescending(f => f.Id);
        return await query.Take(limit + 1).ToListAsync(cancellationToken);
    }

    /// <summary>The file's content as a stream from blob storage.</summary>
    public async Task<Stream> OpenReadAsync(StoredFile file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        var blob = (await ContainerAsync()).GetBlobClient(file.BlobName);
        try
        {
            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken);
            return download.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw NotFound(file.Id);
        }
    }

    /// <summary>Deletes the customer's file: the record first (then nobody can see it), then its content. An expired file is already gone for its owner.</summary>
    public async Task<bool> DeleteAsync(string customerId, string id, CancellationToken cancellationToken)
    {
        var file = await FindAsync(customerId, id, cancellationToken);
        return file is not null && await RemoveAsync(file, cancellationToken);
    }

    /// <summary>
    /// Deletes up to <paramref name="max"/> expired files (record, then blob), oldest expiry first; returns how many.
    /// Instances sweeping at once do not trip over each other: a record deletes once, and only its deleter removes the blob.
    /// </summary>
    public async Task<int> SweepExpiredAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        List<StoredFile> expired;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            expired = await db.Set<StoredFile>().AsNoTracking()
                .Where(f => f.ExpiresAt != null && f.ExpiresAt <= now)
                .OrderBy(f => f.ExpiresAt)
                .Take(max)
                .ToListAsync(cancellationToken);
        }

        int deleted = 0;
        foreach (var file in expired)
        {
            if (await RemoveAsync(file, cancellationToken))
            {
                deleted++;
            }
        }

        return deleted;
    }

    private async Task<bool> RemoveAsync(StoredFile file, CancellationToken cancellationToken)
    {
        await using (var db = await databases.CreateDbContextAsync(cancellationToken))
        {
            if (await db.Set<StoredFile>().Where(f => f.Id == file.Id).ExecuteDeleteAsync(cancellationToken) == 0)
            {
                return false;
            }
        }

        try
        {
            await (await ContainerAsync()).GetBlobClient(file.BlobName).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException ex)
        {
            // The file is gone for the customer; a left-over blob costs storage, not correctness.
            LogContentNotDeleted(logger, ex, file.Id);
        }

        return true;
    }

    /// <summary>Deletes an uploaded blob that never became a file (the upload was refused after its content was stored).</summary>
    public async Task DiscardContentAsync(string blobName)
    {
        try
        {
            await (await ContainerAsync()).GetBlobClient(blobName).DeleteIfExistsAsync();
        }
        catch (RequestFailedException ex)
        {
            LogContentNotDeleted(logger, ex, blobName);
        }
    }

    private static string BlobNameOf(string id) => "files/" + id;

    private static async Task<BlobContainerClient> CreateContainerAsync(BlobServiceClient blobs, string name)
    {
        var container = blobs.GetBlobContainerClient(name);
        await container.CreateIfNotExistsAsync();
        return container;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Content of {File} could not be deleted")]
    private static partial void LogContentNotDeleted(ILogger logger, Exception exception, string file);
}
