using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Models;

/// <summary>GET /v1/models/{id}. A model outside the key's scope looks the same as one that does not exist.</summary>
public sealed class GetModelHandler(ModelRegistry registry) : IApiHandler
{
    public static readonly ApiRoute Route = new("GetModel", "GET", "/v1/models/{id}", ApiAuth.ApiKey, typeof(GetModelHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Inference };

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string id = call.RouteId ?? string.Empty;
        if (!registry.Exists(id) || !call.RequireCaller().CanUse(id))
        {
            throw ApiException.ModelNotFound(id);
        }

        var model = new ModelObject(id, registry.CreatedAt(id), ListModelsHandler.Owner);
        return call.WriteJsonAsync(model, ModelsJsonContext.Default.ModelObject);
    }
}
