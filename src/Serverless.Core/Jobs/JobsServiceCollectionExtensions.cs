using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.Core.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// The Batch API (section "Batch"): routes, the orchestrator's activities and what they use. The host adds how
    /// orchestrations run: <see cref="AddLocalBatchRuntime"/> locally, Durable Functions in the Functions app (each
    /// registers an <see cref="IBatchStarter"/>). Needs AddFiles and AddInference.
    /// </summary>
    public static IServiceCollection AddBatches(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BatchOptions>()
            .Bind(configuration.GetSection(BatchOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<BatchStore>();
        services.AddSingleton<BatchWorkspace>();
        services.AddSingleton<BatchValidation>();
        services.AddSingleton<BatchLineRunner>();
        services.AddSingleton<BatchChunkRunner>();
        services.AddSingleton<BatchFinalizer>();
        services.AddSingleton<BatchActivities>();
        services.AddSingleton<BatchViews>();
        services.AddSingleton<CreateBatchHandler>();
        services.AddSingleton<GetBatchHandler>();
        services.AddSingleton<ListBatchesHandler>();
        services.AddSingleton<CancelBatchHandler>();
        return services;
    }

    /// <summary>
    /// Batches in the local host: DurableTask.Core on Azure Storage (AzureWebJobsStorage, hub DurableTaskHubName, section
    /// "LocalDurableTask"), durable across restarts.
    /// </summary>
    public static IHostApplicationBuilder AddLocalBatchRuntime(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<LocalDurableTaskOptions>()
            .Bind(builder.Configuration.GetSection(LocalDurableTaskOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<LocalDurableTaskRuntime>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<LocalDurableTaskRuntime>());
        builder.Services.TryAddSingleton<IBatchStarter, LocalBatchStarter>();

        // The framework's own tracing is chatty at Information; host.json keeps it at Warning in Azure too.
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.DurableTask", LogLevel.Warning);
        return builder;
    }
}
