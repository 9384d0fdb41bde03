using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Http;

public static class ApiServiceCollectionExtensions
{
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddServerlessMetrics();
        services.AddSingleton<ApiDispatcher>();
        services.AddSingleton<ApiRouteTable>();
        services.AddHostedService<ApiRouteTableCheck>();
        return services.AddApiRoutes(HealthHandler.Route);
    }

    /// <summary>
    /// Registers a feature's routes and, from them, their handlers: a route cannot exist without its handler, and one
    /// whose handler is not an <see cref="IApiHandler"/> stops the host as it is built.
    /// </summary>
    public static IServiceCollection AddApiRoutes(this IServiceCollection services, params IEnumerable<ApiRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        foreach (var route in routes)
        {
            if (!typeof(IApiHandler).IsAssignableFrom(route.Handler) || route.Handler.IsAbstract)
            {
                throw new InvalidOperationException($"The route {route.Name} names {route.Handler.Name} as its handler, which is not a concrete {nameof(IApiHandler)}.");
            }

            services.AddSingleton(route);
            services.TryAddSingleton(route.Handler);
        }

        return services;
    }

    /// <summary>Maps every route of the <see cref="ApiRouteTable"/> onto the dispatcher (the local host's equivalent of the function classes).</summary>
    public static IEndpointRouteBuilder MapServerlessApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var route in endpoints.ServiceProvider.GetRequiredService<ApiRouteTable>().All)
        {
            endpoints.MapMethods(route.Pattern, [route.Method], (HttpContext http, ApiDispatcher dispatcher) =>
                dispatcher.InvokeAsync(route, http, http.GetRouteValue("id") as string))
                .WithName(route.Name);
        }

        return endpoints;
    }

    // Builds the route table as the host starts, so an inconsistent one stops it there rather than on a first call
    // (the Functions host builds the dispatcher lazily).
    private sealed class ApiRouteTableCheck(ApiRouteTable table) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => table.All.Count > 0 ? Task.CompletedTask : throw new InvalidOperationException("No routes are registered.");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
