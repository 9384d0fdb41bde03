using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Models;

/// <summary>GET /v1/admin/models: each configured model's state on this instance (loads, failures, last error).</summary>
public sealed class AdminModelsHandler(ModelRegistry registry) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminModels", "GET", "/v1/admin/models", ApiAuth.Admin, typeof(AdminModelsHandler));

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return call.WriteJsonAsync(
            new ModelStatusList(registry.Status()), ModelsJsonContext.Default.ModelStatusList);
    }
}

public sealed record ModelStatusList(IReadOnlyList<ModelStatus> Data);
