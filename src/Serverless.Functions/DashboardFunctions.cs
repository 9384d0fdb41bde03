using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Dashboard;
using Serverless.Core.Http;

namespace Serverless.Functions;

/// <summary>The customer dashboard: its page, assets and JSON routes, served by the same handlers as the local host.</summary>
public sealed class DashboardFunctions(ApiDispatcher api)
{
    [Function("DashboardPage")]
    public Task<IActionResult> Page(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard")] HttpRequest request) =>
        api.RunAsync(DashboardPageHandler.Route, request);

    [Function("DashboardAsset")]
    public Task<IActionResult> Asset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/assets/{id}")] HttpRequest request, string id) =>
        api.RunAsync(DashboardAssetHandler.Route, request, id);

    [Function("DashboardSession")]
    public Task<IActionResult> Session(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/session")] HttpRequest request) =>
        api.RunAsync(DashboardSessionHandler.Route, request);

    [Function("DashboardSignIn")]
    public Task<IActionResult> SignIn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/session")] HttpRequest request) =>
        api.RunAsync(DashboardSignInHandler.Route, request);

    [Function("DashboardLinkSignIn")]
    public Task<IActionResult> LinkSignIn(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/session/link")] HttpRequest request) =>
        api.RunAsync(DashboardLinkSignInHandler.Route, request);

    [Function("DashboardSignOut")]
    public Task<IActionResult> SignOut(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "dashboard/api/session")] HttpRequest request) =>
        api.RunAsync(DashboardSignOutHandler.Route, request);

    [Function("DashboardOverview")]
    public Task<IActionResult> Overview(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/overview")] HttpRequest request) =>
        api.RunAsync(DashboardOverviewHandler.Route, request);

    [Function("DashboardChart")]
    public Task<IActionResult> Chart(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/chart")] HttpRequest request) =>
        api.RunAsync(DashboardChartHandler.Route, request);

    [Function("DashboardRequests")]
    public Task<IActionResult> Requests(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/requests")] HttpRequest request) =>
        api.RunAsync(DashboardRequestsHandler.Route, request);

    [Function("DashboardKeys")]
    public Task<IActionResult> Keys(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/keys")] HttpRequest request) =>
        api.RunAsync(DashboardKeysHandler.Route, request);

    [Function("DashboardCreateKey")]
    public Task<IActionResult> CreateKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/keys")] HttpRequest request) =>
        api.RunAsync(DashboardCreateKeyHandler.Route, request);

    [Function("DashboardRevokeKey")]
    public Task<IActionResult> RevokeKey(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "dashboard/api/keys/{id}")] HttpRequest request, string id) =>
        api.RunAsync(DashboardRevokeKeyHandler.Route, request, id);

    [Function("DashboardBilling")]
    public Task<IActionResult> Billing(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/billing")] HttpRequest request) =>
        api.RunAsync(DashboardBillingHandler.Route, request);

    [Function("DashboardBatches")]
    public Task<IActionResult> Batches(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/batches")] HttpRequest request) =>
        api.RunAsync(DashboardBatchesHandler.Route, request);

    [Function("DashboardCancelBatch")]
    public Task<IActionResult> CancelBatch(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dashboard/api/batches/{id}/cancel")] HttpRequest request, string id) =>
        api.RunAsync(DashboardCancelBatchHandler.Route, request, id);

    [Function("DashboardFileContent")]
    public Task<IActionResult> FileContent(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/api/files/{id}/content")] HttpRequest request, string id) =>
        api.RunAsync(DashboardFileContentHandler.Route, request, id);
}
