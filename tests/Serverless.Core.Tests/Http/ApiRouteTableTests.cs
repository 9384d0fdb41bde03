using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Core.Http;

namespace Serverless.Core.Tests.Http;

/// <summary>Features register their own routes, and with them their handlers; an inconsistent table stops the host as it starts.</summary>
public sealed class ApiRouteTableTests
{
    [Fact]
    public void Every_route_the_features_register_comes_with_its_handler()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.AddServerless();
        using var services = builder.Services.BuildServiceProvider();

        var routes = services.GetRequiredService<ApiRouteTable>().All;
        var registered = services.GetRequiredService<IServiceProviderIsService>();
        Assert.Contains(routes, r => r.Pattern == "/v1/chat/completions");
        Assert.Contains(routes, r => r.Pattern == "/health");
        Assert.Contains(routes, r => r.Pattern == "/dashboard");
        Assert.All(routes, r => Assert.True(registered.IsService(r.Handler), $"{r.Name}: {r.Handler.Name} is not registered"));
    }

    [Fact]
    public void A_route_whose_handler_is_not_an_api_handler_is_refused_when_it_is_registered()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new ServiceCollection().AddApiRoutes(new ApiRoute("Broken", "GET", "/broken", ApiAuth.None, typeof(string))));
        Assert.Contains("Broken", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_routes_for_one_method_and_template_stop_the_host_as_it_starts()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddApi()
            .AddApiRoutes(new ApiRoute("GetThing", "GET", "/v1/things/{id}", ApiAuth.None, typeof(HealthHandler)))
            .AddApiRoutes(new ApiRoute("GetOtherThing", "GET", "/v1/things/{thingId}", ApiAuth.None, typeof(HealthHandler)));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("GetThing and GetOtherThing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_routes_with_one_name_stop_the_host_as_it_starts()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddApi().AddApiRoutes(new ApiRoute("Health", "GET", "/v1/health", ApiAuth.None, typeof(HealthHandler)));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("the name Health", error.Message, StringComparison.Ordinal);
    }
}
