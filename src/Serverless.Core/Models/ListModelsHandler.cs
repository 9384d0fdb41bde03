using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Models;

/// <summary>GET /v1/models: the models this key may use.</summary>
public sealed class ListModelsHandler(ModelRegistry registry) : IApiHandler
{
    public static readonly ApiRoute Route = new("ListModels", "GET", "/v1/models", ApiAuth.ApiKey, typeof(ListModelsHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Inference };

    public const string Owner = "serverless";

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        var data = registry.Definitions
            .Where(d => caller.CanUse(d.Id))
            .Select(d => new ModelObject(d.Id, registry.CreatedAt(d.Id), Owner))
            .ToList();
        return call.WriteJsonAsync(new ModelList(data), ModelsJsonContext.Default.ModelList);
    }
}
