using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Models;

/// <summary>GET /v1/models/{id}. A model outside the key's scope looks the same as one that does not exist.</summary>
public sealed class GetModelHandler(ModelRegistry registry) : IApiHandler
{
    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string id = call.RouteId ?? string.Empty;
        if (!registry.Exists(id) || !call.RequireCaller().CanUse(id))
        {
            throw ApiException.ModelNotFound(id);
        }

        var model = new ModelObject(id, registry.CreatedAt(id), ListModelsHandler.Owner);
        return call.Http.Response.WriteAsJsonAsync(model, ApiJsonContext.Default.ModelObject, contentType: null, call.Aborted);
    }
}
