using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Files;
using Serverless.Core.Http;

namespace Serverless.Functions;

/// <summary>The Files API (batch input and output files), and the sweep of expired files on a timer.</summary>
public sealed class FileFunctions(ApiDispatcher api, FileSweeper sweeper)
{
    [Function("UploadFile")]
    public Task<IActionResult> Upload(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/files")] HttpRequest request) =>
        api.RunAsync(UploadFileHandler.Route, request);

    [Function("ListFiles")]
    public Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/files")] HttpRequest request) =>
        api.RunAsync(ListFilesHandler.Route, request);

    [Function("GetFile")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/files/{id}")] HttpRequest request, string id) =>
        api.RunAsync(GetFileHandler.Route, request, id);

    [Function("GetFileContent")]
    public Task<IActionResult> Content(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/files/{id}/content")] HttpRequest request, string id) =>
        api.RunAsync(GetFileContentHandler.Route, request, id);

    [Function("DeleteFile")]
    public Task<IActionResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "v1/files/{id}")] HttpRequest request, string id) =>
        api.RunAsync(DeleteFileHandler.Route, request, id);

    /// <summary>Deletes expired files every ten minutes (they answer 404 from their expiry on; this frees the storage).</summary>
    [Function("SweepExpiredFiles")]
    public async Task SweepExpiredFiles([TimerTrigger("0 */10 * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        await sweeper.SweepAsync(cancellationToken);
    }
}
