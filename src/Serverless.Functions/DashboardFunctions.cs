using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Http;

namespace Serverless.Functions;

/// <summary>The customer dashboard: its page, assets and JSON routes, served by the same handlers as the local host.</summary>
public sealed class DashboardFunctions(ApiDispatcher api)
{
    [Function("DashboardPage")]
    public Task<IActionResult> Page(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardPage, request);

    [Function("DashboardAsset")]
    public Task<IActionResult> Asset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/assets/{id}")] HttpRequest request, string id) =>
        api.RunAsync(ApiRoutes.DashboardAsset, request, id);

    [Function("DashboardSession")]
    public Task<IActionResult> Session(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/session")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardSession, request);

    [Function("DashboardSignIn")]
    public Task<IActionResult> SignIn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/session")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardSignIn, request);

    [Function("DashboardLinkSignIn")]
    public Task<IActionResult> LinkSignIn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/session/link")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardLinkSignIn, request);

    [Function("DashboardSignOut")]
    public Task<IActionResult> SignOut(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "dashboard/api/session")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardSignOut, request);

    [Function("DashboardOverview")]
    public Task<IActionResult> Overview(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/overview")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardOverview, request);

    [Function("DashboardChart")]
    public Task<IActionResult> Chart(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/chart")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardChart, request);

    [Function("DashboardRequests")]
    public Task<IActionResult> Requests(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/requests")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardRequests, request);

    [Function("DashboardKeys")]
    public Task<IActionResult> Keys(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/keys")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardKeys, request);

    [Function("DashboardCreateKey")]
    public Task<IActionResult> CreateKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/keys")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardCreateKey, request);

    [Function("DashboardRevokeKey")]
    public Task<IActionResult> RevokeKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "dashboard/api/keys/{id}")] HttpRequest request, string id) =>
        api.RunAsync(ApiRoutes.DashboardRevokeKey, request, id);

    [Function("DashboardBilling")]
    public Task<IActionResult> Billing(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/billing")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardBilling, request);

    [Function("DashboardBatches")]
    public Task<IActionResult> Batches(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/batches")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.DashboardBatches, request);

    [Function("DashboardCancelBatch")]
    public Task<IActionResult> CancelBatch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/batches/{id}/cancel")] HttpRequest request, string id) =>
        api.RunAsync(ApiRoutes.DashboardCancelBatch, request, id);

    [Function("DashboardFileContent")]
    public Task<IActionResult> FileContent(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/files/{id}/content")] HttpRequest request, string id) =>
        api.RunAsync(ApiRoutes.DashboardFileContent, request, id);
}
