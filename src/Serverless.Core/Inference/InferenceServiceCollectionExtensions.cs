using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>Generation limits, the per-instance gate, the completion path and its two routes.</summary>
    public static IServiceCollection AddInference(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<InferenceOptions>()
            .Bind(configuration.GetSection(InferenceOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddServerlessMetrics();
        services.AddSingleton<GenerationGate>();
        services.AddSingleton<IGenerationCapacity>(provider => provider.GetRequiredService<GenerationGate>());
        services.AddSingleton<PromptGate>();
        services.AddSingleton<CompletionService>();
        services.AddApiRoutes(ChatCompletionsHandler.Route, CompletionsHandler.Route);

        // Generation runs synchronously on request threads (native calls, no awaits between tokens), so the
        // pool must have a thread per running generation up front instead of growing slowly under load.
        int wanted = configuration.GetSection(InferenceOptions.SectionName).GetValue(nameof(InferenceOptions.MaxConcurrentGenerations), new InferenceOptions().MaxConcurrentGenerations);
        ThreadPool.GetMinThreads(out int workers, out int io);
        int target = wanted + (2 * Environment.ProcessorCount);
        if (workers < target)
        {
            ThreadPool.SetMinThreads(target, io);
        }

        return services;
    }
}
