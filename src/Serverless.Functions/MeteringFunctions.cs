using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Functions;

public sealed class MeteringFunctions(ApiDispatcher api)
{
    [Function("Usage")]
    public Task<IActionResult> Usage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/usage")] HttpRequest request) =>
        api.RunAsync(UsageHandler.Route, request);

    [Function("ReceiptSecret")]
    public Task<IActionResult> ReceiptSecret(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/usage/receipt_secret")] HttpRequest request) =>
        api.RunAsync(ReceiptSecretHandler.Route, request);

    [Function("AdminUsage")]
    public Task<IActionResult> AdminUsage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/usage")] HttpRequest request) =>
        api.RunAsync(AdminUsageExportHandler.Route, request);

    [Function("AdminSetPrice")]
    public Task<IActionResult> AdminSetPrice(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/prices")] HttpRequest request) =>
        api.RunAsync(AdminSetPriceHandler.Route, request);

    [Function("AdminListPrices")]
    public Task<IActionResult> AdminListPrices(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/prices")] HttpRequest request) =>
        api.RunAsync(AdminListPricesHandler.Route, request);

    [Function("AdminSetLimits")]
    public Task<IActionResult> AdminSetLimits(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/limits")] HttpRequest request) =>
        api.RunAsync(AdminSetLimitsHandler.Route, request);

    [Function("AdminGetLimits")]
    public Task<IActionResult> AdminGetLimits(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/limits")] HttpRequest request) =>
        api.RunAsync(AdminGetLimitsHandler.Route, request);
}
