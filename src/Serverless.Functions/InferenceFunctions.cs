using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Http;
using Serverless.Core.Inference;
using Serverless.Core.Models;

namespace Serverless.Functions;

public sealed class InferenceFunctions(ApiDispatcher api)
{
    [Function("ChatCompletions")]
    public Task<IActionResult> ChatCompletions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/chat/completions")] HttpRequest request) =>
        api.RunAsync(ChatCompletionsHandler.Route, request);

    [Function("Completions")]
    public Task<IActionResult> Completions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/completions")] HttpRequest request) =>
        api.RunAsync(CompletionsHandler.Route, request);

    [Function("ListModels")]
    public Task<IActionResult> ListModels(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models")] HttpRequest request) =>
        api.RunAsync(ListModelsHandler.Route, request);

    [Function("GetModel")]
    public Task<IActionResult> GetModel(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/models/{id}")] HttpRequest request, string id) =>
        api.RunAsync(GetModelHandler.Route, request, id);

    [Function("Health")]
    public Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        api.RunAsync(HealthHandler.Route, request);
}
