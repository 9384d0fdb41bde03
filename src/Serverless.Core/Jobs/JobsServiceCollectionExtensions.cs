using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// The Batch API (section "Batch"): routes, the orchestrator's activities and what they use. The host adds how
    /// orchestrations run: AddLocalBatchRuntime in the local host, Durable Functions in the Functions app (each
    /// registers an <see cref="IBatchStarter"/>). Needs AddFiles and AddInference.
    /// </summary>
    public static IServiceCollection AddBatches(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BatchOptions>()
            .Bind(configuration.GetSection(BatchOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddServerlessMetrics();
        services.AddSingleton<BatchStore>();
        services.AddSingleton<BatchWorkspace>();
        services.AddSingleton<BatchValidation>();
        services.AddSingleton<BatchLineRunner>();
        services.AddSingleton<BatchChunkRunner>();
        services.AddSingleton<BatchFinalizer>();
        services.AddSingleton<BatchActivities>();
        services.AddSingleton<BatchViews>();
        services.AddSingleton<BatchCreation>();
        services.AddApiRoutes(
            CreateBatchHandler.Route, ListBatchesHandler.Route, GetBatchHandler.Route, CancelBatchHandler.Route);
        return services;
    }
}
