using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Models;

public static class ModelsServiceCollectionExtensions
{
    /// <summary>The id served when no models are configured: the demo model that run.sh uploads to Azurite.</summary>
    public const string DefaultModelId = "demo";

    /// <summary>Model storage (blob upload, verified local cache), the per-instance registry and the model routes.</summary>
    public static IServiceCollection AddModels(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModelStorage(configuration);
        services.PostConfigure<ModelStorageOptions>(options =>
        {
            if (options.Models.Count == 0)
            {
                options.Models.Add(new ModelDefinition { Id = DefaultModelId });
            }
        });
        services.AddServerlessMetrics();
        services.AddSingleton<ModelRegistry>();
        services.AddApiRoutes(ListModelsHandler.Route, GetModelHandler.Route, AdminModelsHandler.Route);
        return services;
    }
}
