using Serverless.Core.Http;

namespace Serverless.Core.Files;

/// <summary>
/// An upload from its form to the customer's file, within the customer's quotas: a customer at a quota is refused
/// before any byte is stored, the content may take no more than the room left, and content that does not become a
/// file is deleted again.
/// </summary>
public sealed class FileUploads(FileStore files)
{
    /// <summary>The largest request body an upload may have.</summary>
    public long MaxBodyBytes => FileUploadReader.MaxBodyBytes(files.MaxUploadBytes);

    /// <summary>The 413 of an upload whose body is larger than <see cref="MaxBodyBytes"/>.</summary>
    public ApiException TooLarge() => FileUploadReader.TooLarge(files.MaxUploadBytes);

    /// <summary>Reads the multipart body of <paramref name="contentType"/> and records its file as the customer's.</summary>
    public async Task<StoredFile> UploadAsync(string customerId, string? contentType, Stream body, CancellationToken cancellationToken)
    {
        string boundary = FileUploadReader.Boundary(contentType);
        var usage = await files.UsageAsync(customerId, cancellationToken);
        if (!files.HasRoom(usage))
        {
            throw files.QuotaExceeded(usage);
        }

        long limit = files.MaxUploadBytes;
        long contentLimit = Math.Min(limit, files.Options.MaxBytesPerCustomer - usage.Bytes);
        var upload = await FileUploadReader.ReadAsync(body, boundary, limit, StoreAsync, DiscardAsync, cancellationToken);
        bool recorded = false;
        try
        {
            var file = await files.AddAsync(customerId, upload.Content.Id, upload.Content.BlobName, upload.Filename, upload.Purpose, upload.Content.Bytes, upload.ExpiresAfter, cancellationToken);
            recorded = true;
            return file;
        }
        finally
        {
            if (!recorded)
            {
                await DiscardAsync(upload.Content);
            }
        }

        async Task<UploadedContent> StoreAsync(Stream content, CancellationToken token)
        {
            try
            {
                return await files.UploadContentAsync(content, contentLimit, token);
            }
            catch (FileTooLargeException) when (contentLimit < limit)
            {
                // Past the room the quota leaves rather than past the upload limit.
                throw files.QuotaExceeded(usage);
            }
        }
    }

    private Task DiscardAsync(UploadedContent content) => files.DiscardContentAsync(content.BlobName);
}
