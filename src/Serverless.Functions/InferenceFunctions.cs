using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Http;

namespace Serverless.Functions;

public sealed class InferenceFunctions(ApiDispatcher api)
{
    [Function("ChatCompletions")]
    public Task<IActionResult> ChatCompletions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.ChatCompletions, request);

    [Function("Completions")]
    public Task<IActionResult> Completions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/completions")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.Completions, request);

    [Function("ListModels")]
    public Task<IActionResult> ListModels(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.ListModels, request);

    [Function("GetModel")]
    public Task<IActionResult> GetModel(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models/{id}")] HttpRequest request, string id) =>
        api.RunAsync(ApiRoutes.GetModel, request, id);

    [Function("Health")]
    public Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        api.RunAsync(ApiRoutes.Health, request);
}
