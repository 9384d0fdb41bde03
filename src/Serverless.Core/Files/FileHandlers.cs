using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Files;

/// <summary>
/// POST /v1/files (multipart/form-data: <c>file</c>, <c>purpose</c>=batch, optional <c>expires_after[anchor]</c>=created_at
/// and <c>expires_after[seconds]</c>): stores the file for the caller's customer, within the customer's file quotas.
/// </summary>
public sealed class UploadFileHandler(FileUploads uploads) : IApiHandler
{
    public static readonly ApiRoute Route = new("UploadFile", "POST", "/v1/files", ApiAuth.ApiKey, typeof(UploadFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        var request = call.Http.Request;
        long maxBody = uploads.MaxBodyBytes;
        if (request.ContentLength is long declared && declared > maxBody)
        {
            throw uploads.TooLarge();
        }

        if (call.Http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // Kestrel's default cap (30 MB) is below the file limit; the file itself is bounded while it is read.
            size.MaxRequestBodySize = maxBody;
        }

        var file = await uploads.UploadAsync(caller.CustomerId, request.ContentType, request.Body, call.Aborted);
        await call.WriteJsonAsync(FileObject.From(file), FilesJsonContext.Default.FileObject);
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
        await call.WriteJsonAsync(list, FilesJsonContext.Default.FileList);
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
        await call.WriteJsonAsync(FileObject.From(file), FilesJsonContext.Default.FileObject);
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

        await call.WriteJsonAsync(new FileDeleted(id, true), FilesJsonContext.Default.FileDeleted);
    }
}
