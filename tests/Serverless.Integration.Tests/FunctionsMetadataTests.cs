using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Core;
using Serverless.Core.Http;
using Serverless.Core.Jobs;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests;

/// <summary>The Functions build declares exactly the routes the local host serves, through the same route table.</summary>
public sealed class FunctionsMetadataTests
{
    private static JsonElement ReadMetadata()
    {
        // The test binaries sit in bin/<Configuration>/net10.0; the Functions app is built with the same configuration.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string path = Path.Combine(RepositoryRoot.Path, "src", "Serverless.Functions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is missing: build src/Serverless.Functions");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    // The route table as both hosts build it: every feature registers its own routes.
    private static IReadOnlyList<ApiRoute> RegisteredRoutes()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.AddServerless();
        using var services = builder.Services.BuildServiceProvider();
        return services.GetRequiredService<ApiRouteTable>().All;
    }

    [Fact]
    public void Functions_metadata_lists_every_route_and_method_the_local_host_serves()
    {
        var routes = RegisteredRoutes();
        var declared = ReadMetadata().EnumerateArray()
            .Where(f => f.GetProperty("bindings").EnumerateArray().Any(b => b.GetProperty("type").GetString() == "httpTrigger"))
            .Select(f => (Name: f.GetProperty("name").GetString()!, Trigger: f.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger")))
            .Select(f => (f.Name, Route: f.Trigger.GetProperty("route").GetString()!, Methods: f.Trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToArray(), Auth: f.Trigger.GetProperty("authLevel").GetString()))
            .ToDictionary(f => f.Name);

        Assert.Equal(routes.Select(r => r.Name).Order(), declared.Keys.Order());
        foreach (var route in routes)
        {
            var function = declared[route.Name];
            Assert.Equal(route.FunctionsRoute, function.Route);
            Assert.Equal([route.Method], function.Methods);
            Assert.Equal("Anonymous", function.Auth);
        }
    }

    [Fact]
    public void No_function_route_is_one_the_Functions_host_reserves_and_no_two_functions_share_a_route_and_method()
    {
        // The host refuses at startup ("conflicts with one or more built in routes") every function whose route, before
        // routePrefix, starts with "admin" or "runtime" in any case: its own APIs live there. The function then 404s.
        var routes = ReadMetadata().EnumerateArray()
            .SelectMany(f => f.GetProperty("bindings").EnumerateArray()
                .Where(b => b.GetProperty("type").GetString() == "httpTrigger")
                .Select(b => (Name: f.GetProperty("name").GetString()!, Route: b.GetProperty("route").GetString()!, Methods: b.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToArray())))
            .ToList();
        Assert.NotEmpty(routes);

        var reserved = routes.Where(r => r.Route.TrimStart('/').StartsWith("admin", StringComparison.OrdinalIgnoreCase)
            || r.Route.TrimStart('/').StartsWith("runtime", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(reserved.Select(r => $"{r.Name}: {r.Route}"));

        // Templates that differ only in a parameter's name ({id} and {fileId}) are the same route to the host.
        var shared = routes
            .SelectMany(r => r.Methods.Select(m => (r.Name, Key: $"{m} {Regex.Replace(r.Route.ToLowerInvariant(), @"\{[^}]*\}", "{}")}")))
            .GroupBy(r => r.Key)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(r => r.Name))}");
        Assert.Empty(shared);
    }

    [Fact]
    public void Functions_metadata_declares_the_billing_timers_and_the_expired_file_sweep()
    {
        var timers = ReadMetadata().EnumerateArray()
            .Select(f => (Name: f.GetProperty("name").GetString()!, Timer: f.GetProperty("bindings").EnumerateArray().FirstOrDefault(b => b.GetProperty("type").GetString() == "timerTrigger")))
            .Where(f => f.Timer.ValueKind == JsonValueKind.Object)
            .ToDictionary(f => f.Name, f => f.Timer.GetProperty("schedule").GetString());
        Assert.Equal("0 */1 * * * *", timers["ExportUsage"]);
        Assert.Equal("0 0 */6 * * *", timers["ReconcileUsage"]);
        Assert.Equal("0 */10 * * * *", timers["SweepExpiredFiles"]);
    }

    [Fact]
    public void Functions_metadata_declares_the_batch_orchestration_its_activities_and_the_durable_client_that_starts_it()
    {
        var bindings = ReadMetadata().EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().Select(b => b.GetProperty("type").GetString()!).ToList());

        Assert.Equal(["orchestrationTrigger"], bindings[BatchOrchestrator.Name]);
        foreach (var activity in new[] { BatchActivityNames.Validate, BatchActivityNames.RunChunk, BatchActivityNames.Finalize, BatchActivityNames.Fail })
        {
            Assert.Equal(["activityTrigger"], bindings[activity]);
        }

        Assert.Contains("durableClient", bindings[CreateBatchHandler.Route.Name]);
    }

    [Fact]
    public void Host_json_routes_functions_without_the_api_prefix()
    {
        string hostJson = Path.Combine(RepositoryRoot.Path, "host.json");
        var root = JsonDocument.Parse(File.ReadAllText(hostJson)).RootElement;
        Assert.Equal(string.Empty, root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());

        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string built = Path.Combine(RepositoryRoot.Path, "src", "Serverless.Functions", "bin", configuration, "net10.0", "host.json");
        Assert.Equal(File.ReadAllText(hostJson), File.ReadAllText(built));
    }
}
