using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Core.Jobs;

namespace Serverless.Local.Jobs;

public static class LocalBatchRuntimeExtensions
{
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
