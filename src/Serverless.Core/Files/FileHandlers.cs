using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Files;

/// <summary>
/// POST /v1/files (multipart/form-data: <c>file</c>, <c>purpose</c>=batch, optional <c>expires_after[anchor]</c>=created_at
/// and <c>expires_after[seconds]</c>): stores the file for the caller's customer, within the customer's file quotas.
/// </summary>
public sealed class UploadFileHandler(FileStore files) : IApiHandler
{
    public static readonly ApiRoute Route = new("UploadFile", "POST", "/v1/files", ApiAuth.ApiKey, typeof(UploadFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    // Room for the multipart framing and the small fields around the file.
    private const long FramingAllowance = 1024 * 1024;
    private const int MaxFieldLength = 1024;

    /// <summary>OpenAI's bounds for expires_after[seconds]: one hour to 30 days.</summary>
    public const int MinExpirySeconds = 3600;
    public const int MaxExpirySeconds = 2_592_000;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        var request = call.Http.Request;
        long limit = files.MaxUploadBytes;
        if (request.ContentLength is long declared && declared > limit + FramingAllowance)
        {
            throw TooLarge(limit);
        }

        if (call.Http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // Kestrel's default cap (30 MB) is below the file limit; the file itself is bounded while it is read.
            size.MaxRequestBodySize = limit + FramingAllowance;
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "invalid_request_error", "unsupported_media_type",
                "Upload files as multipart/form-data with the fields 'file' and 'purpose'.");
        }

        // A customer at a quota is refused before any byte is stored, and an upload may not take more than the room left.
        var usage = await files.UsageAsync(caller.CustomerId, call.Aborted);
        if (!files.HasRoom(usage))
        {
            throw files.QuotaExceeded(usage);
        }

        long room = files.Options.MaxBytesPerCustomer - usage.Bytes;
        long uploadLimit = Math.Min(limit, room);
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limit + FramingAllowance };
        string? purpose = null;
        string? anchor = null;
        string? seconds = null;
        (string Id, string BlobName, long Bytes, string Filename)? upload = null;
        try
        {
            while (await ReadSectionAsync(reader, call.Aborted) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    continue;
                }

                string name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? string.Empty;
                string? filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value ?? HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                if (name == "file" && filename is not null)
                {
                    if (upload is not null)
                    {
                        throw ApiException.InvalidValue("file", "Send one file per upload.");
                    }

                    var (id, blobName, bytes) = await UploadAsync(section.Body, limit, uploadLimit, usage, call.Aborted);
                    upload = (id, blobName, bytes, Path.GetFileName(filename) is { Length: > 0 } clean ? clean : "upload.jsonl");
                }
                else if (name == "purpose")
                {
                    purpose = await ReadFieldAsync(section.Body, "purpose", call.Aborted);
                }
                else if (name == "expires_after[anchor]")
                {
                    anchor = await ReadFieldAsync(section.Body, name, call.Aborted);
                }
                else if (name == "expires_after[seconds]")
                {
                    seconds = await ReadFieldAsync(section.Body, name, call.Aborted);
                }
            }

            if (upload is not { } stored)
            {
                throw ApiException.MissingParameter("file");
            }

            if (purpose is null)
            {
                throw ApiException.MissingParameter("purpose");
            }

            if (purpose != FilePurpose.Batch)
            {
                throw ApiException.InvalidValue("purpose", $"Invalid value for 'purpose': '{purpose}'. This service stores files for the Batch API only: use 'batch'.");
            }

            var expiresAfter = ExpiresAfter(anchor, seconds);
            var file = await files.AddAsync(caller.CustomerId, stored.Id, stored.BlobName, stored.Filename[..Math.Min(stored.Filename.Length, 512)], purpose, stored.Bytes, expiresAfter, call.Aborted);
            upload = null;
            await call.Http.Response.WriteAsJsonAsync(FileObject.From(file), FilesJsonContext.Default.FileObject, contentType: null, call.Aborted);
        }
        finally
        {
            if (upload is { } refused)
            {
                await files.DiscardContentAsync(refused.BlobName);
            }
        }
    }

    private static ApiException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "file_too_large",
            string.Create(CultureInfo.InvariantCulture, $"The file is larger than the limit of {limit} bytes."), "file");

    /// <summary>OpenAI's expires_after: both fields or neither; the anchor is created_at; the seconds an integer in 3600..2592000.</summary>
    public static TimeSpan? ExpiresAfter(string? anchor, string? seconds)
    {
        if (anchor is null && seconds is null)
        {
            return null;
        }

        if (anchor is null)
        {
            throw ApiException.MissingParameter("expires_after[anchor]");
        }

        if (seconds is null)
        {
            throw ApiException.MissingParameter("expires_after[seconds]");
        }

        if (anchor != "created_at")
        {
            throw ApiException.InvalidValue("expires_after[anchor]", $"Invalid value for 'expires_after[anchor]': '{anchor}'. The only supported anchor is 'created_at'.");
        }

        if (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value is < MinExpirySeconds or > MaxExpirySeconds)
        {
            throw ApiException.InvalidValue("expires_after[seconds]", string.Create(CultureInfo.InvariantCulture,
                $"Invalid value for 'expires_after[seconds]': '{seconds}'. It must be an integer between {MinExpirySeconds} (1 hour) and {MaxExpirySeconds} (30 days)."));
        }

        return TimeSpan.FromSeconds(value);
    }

    private async Task<(string Id, string BlobName, long Bytes)> UploadAsync(Stream body, long limit, long uploadLimit, FileUsage usage, CancellationToken cancellationToken)
    {
        try
        {
            return await files.UploadContentAsync(body, uploadLimit, cancellationToken);
        }
        catch (FileTooLargeException) when (uploadLimit < limit)
        {
            throw files.QuotaExceeded(usage);
        }
        catch (FileTooLargeException)
        {
            throw TooLarge(limit);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limit);
        }
    }

    private static async Task<MultipartSection?> ReadSectionAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            throw ApiException.BadRequest($"The multipart body could not be read: {ex.Message}", code: "invalid_multipart");
        }
    }

    private static async Task<string> ReadFieldAsync(Stream body, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFieldLength + 1];
        int total = 0;
        int read;
        while (total < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        if (total > MaxFieldLength)
        {
            throw ApiException.InvalidValue(name, $"'{name}' is too long.");
        }

        return Encoding.UTF8.GetString(buffer, 0, total).Trim();
    }
}

/// <summary>GET /v1/files[?purpose=&amp;limit=&amp;after=&amp;order=asc|desc]: the caller's customer's files.</summary>
public sealed class ListFilesHandler(FileStore files) : IApiHandler
{
    public static readonly ApiRoute Route = new("ListFiles", "GET", "/v1/files", ApiAuth.ApiKey, typeof(ListFilesHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Http.Request.Query;
        string? purpose = query["purpose"].FirstOrDefault() is { Length: > 0 } p ? p : null;
        string? after = query["after"].FirstOrDefault() is { Length: > 0 } a ? a : null;
        int limit = Pagination.Limit(query, FileStore.MaxListLimit, FileStore.MaxListLimit);
        bool ascending = (query["order"].FirstOrDefault() ?? "desc") switch
        {
            "asc" => true,
            "desc" => false,
            var other => throw ApiException.InvalidValue("order", $"'order' must be 'asc' or 'desc'; got '{other}'."),
        };
        var page = await files.ListAsync(call.RequireCaller().CustomerId, purpose, after, limit, ascending, call.Aborted);
        var list = new FileList(page.Take(limit).Select(FileObject.From).ToList(), page.Count > limit);
        await call.Http.Response.WriteAsJsonAsync(list, FilesJsonContext.Default.FileList, contentType: null, call.Aborted);
    }
}

/// <summary>GET /v1/files/{id}: one of the caller's customer's files.</summary>
public sealed class GetFileHandler(FileStore files) : IApiHandler
{
    public static readonly ApiRoute Route = new("GetFile", "GET", "/v1/files/{id}", ApiAuth.ApiKey, typeof(GetFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var file = await files.GetAsync(call.RequireCaller().CustomerId, call.RouteId ?? string.Empty, call.Aborted);
        await call.Http.Response.WriteAsJsonAsync(FileObject.From(file), FilesJsonContext.Default.FileObject, contentType: null, call.Aborted);
    }
}

/// <summary>GET /v1/files/{id}/content: the file's bytes.</summary>
public sealed class GetFileContentHandler(FileStore files) : IApiHandler
{
    public static readonly ApiRoute Route = new("GetFileContent", "GET", "/v1/files/{id}/content", ApiAuth.ApiKey, typeof(GetFileContentHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return WriteContentAsync(call, files);
    }

    /// <summary>
    /// Streams the caller's customer's file {id} as an attachment; another customer's file is a 404 like a missing one.
    /// The dashboard's download route answers with this too, for the customer of its session.
    /// </summary>
    public static async Task WriteContentAsync(ApiCall call, FileStore files)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(files);
        var file = await files.GetAsync(call.RequireCaller().CustomerId, call.RouteId ?? string.Empty, call.Aborted);
        await using var content = await files.OpenReadAsync(file, call.Aborted);
        var response = call.Http.Response;
        response.ContentType = "application/octet-stream";
        response.ContentLength = file.Bytes;
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = file.Filename }.ToString();
        await content.CopyToAsync(response.Body, call.Aborted);
    }
}

/// <summary>DELETE /v1/files/{id}.</summary>
public sealed class DeleteFileHandler(FileStore files) : IApiHandler
{
    public static readonly ApiRoute Route = new("DeleteFile", "DELETE", "/v1/files/{id}", ApiAuth.ApiKey, typeof(DeleteFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string id = call.RouteId ?? string.Empty;
        if (!await files.DeleteAsync(call.RequireCaller().CustomerId, id, call.Aborted))
        {
            throw FileStore.NotFound(id);
        }

        await call.Http.Response.WriteAsJsonAsync(new FileDeleted(id, true), FilesJsonContext.Default.FileDeleted, contentType: null, call.Aborted);
    }
}
