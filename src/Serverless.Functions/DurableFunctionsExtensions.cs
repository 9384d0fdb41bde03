using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Core.Jobs;

namespace Serverless.Functions;

internal static class DurableFunctionsExtensions
{
    /// <summary>Batches run as Durable Functions here (host.json extensions.durableTask configures the hub).</summary>
    public static IHostApplicationBuilder AddDurableBatches(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DurableClientAccessor>();
        builder.Services.AddSingleton<IBatchStarter, DurableFunctionsBatchStarter>();
        return builder;
    }
}
