using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;
using Serverless.Core.Metering;

namespace Serverless.Core.Operations;

public static class OperationsServiceCollectionExtensions
{
    /// <summary>The operator overview (admin route) and what each instance's heartbeat reports about itself.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.AddSingleton<IInstanceLoadSource, InstanceLoadSource>();
        services.AddSingleton<OperatorOverview>();
        services.AddApiRoutes(AdminOverviewHandler.Route);
        return services;
    }
}
