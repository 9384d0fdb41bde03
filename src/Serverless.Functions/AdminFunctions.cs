using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Http;
using Serverless.Core.Keys;
using Serverless.Core.Models;
using Serverless.Core.Operations;

namespace Serverless.Functions;

/// <summary>Admin routes; the dispatcher checks the admin key, so the Functions auth level stays anonymous.</summary>
public sealed class AdminFunctions(ApiDispatcher api)
{
    [Function("AdminCreateKey")]
    public Task<IActionResult> CreateKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/keys")] HttpRequest request) =>
        api.RunAsync(AdminCreateKeyHandler.Route, request);

    [Function("AdminListKeys")]
    public Task<IActionResult> ListKeys(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/keys")] HttpRequest request) =>
        api.RunAsync(AdminListKeysHandler.Route, request);

    [Function("AdminRevokeKey")]
    public Task<IActionResult> RevokeKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "v1/admin/keys/{id}")] HttpRequest request, string id) =>
        api.RunAsync(AdminRevokeKeyHandler.Route, request, id);

    [Function("AdminModels")]
    public Task<IActionResult> Models(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/models")] HttpRequest request) =>
        api.RunAsync(AdminModelsHandler.Route, request);

    [Function("AdminOverview")]
    public Task<IActionResult> Overview(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/overview")] HttpRequest request) =>
        api.RunAsync(AdminOverviewHandler.Route, request);
}
