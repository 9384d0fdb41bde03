using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Http;

namespace Serverless.Functions;

public sealed class MeteringFunctions(ApiDispatcher api)
{
    [Function("Usage")]
    public Task<IActionResult> Usage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/usage")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.Usage, request);

    [Function("ReceiptSecret")]
    public Task<IActionResult> ReceiptSecret(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/usage/receipt_secret")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.ReceiptSecret, request);

    [Function("AdminUsage")]
    public Task<IActionResult> AdminUsage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/usage")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.AdminUsage, request);

    [Function("AdminSetPrice")]
    public Task<IActionResult> AdminSetPrice(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/prices")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.AdminSetPrice, request);

    [Function("AdminListPrices")]
    public Task<IActionResult> AdminListPrices(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/prices")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.AdminListPrices, request);

    [Function("AdminSetLimits")]
    public Task<IActionResult> AdminSetLimits(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/limits")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.AdminSetLimits, request);

    [Function("AdminGetLimits")]
    public Task<IActionResult> AdminGetLimits(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/limits")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.AdminGetLimits, request);
}
