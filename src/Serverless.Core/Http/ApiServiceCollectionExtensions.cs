using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Serverless.Core.Http;

public static class ApiServiceCollectionExtensions
{
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ApiDispatcher>();
        services.AddSingleton<HealthHandler>();
        return services;
    }

    /// <summary>Maps every route of <see cref="ApiRoutes"/> onto the dispatcher (the local host's equivalent of the function classes).</summary>
    public static IEndpointRouteBuilder MapServerlessApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var route in ApiRoutes.All)
        {
            endpoints.MapMethods(route.Pattern, [route.Method], (HttpContext http, ApiDispatcher dispatcher) =>
                dispatcher.InvokeAsync(route, http, http.GetRouteValue("id") as string))
                .WithName(route.Name);
        }

        return endpoints;
    }
}
