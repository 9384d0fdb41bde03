using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>The local host with Telemetry:Enabled=false (the benchmark's "off"): no exporter, no /metrics.</summary>
[Collection(TelemetryOffServiceTestGroup.Name)]
public sealed class TelemetryOffTests(TelemetryOffServiceFixture service)
{
    [Fact]
    public async Task Switched_off_the_local_host_has_no_meter_provider_and_no_metrics_route()
    {
        Assert.Null(service.Services.GetService<MeterProvider>());
        Assert.Null(service.Services.GetService<TracerProvider>());

        using var admin = service.CreateClient(service.AdminKey);
        using var metrics = await admin.GetAsync("/metrics");
        var error = await metrics.ReadErrorAsync(404);
        Assert.Equal("unknown_url", error.GetProperty("code").GetString());

        using var client = service.CreateClient();
        using var completion = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The river","max_tokens":3}""");
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
    }
}

public sealed class TelemetryOffServiceFixture : ServiceFixture
{
    protected override void Configure(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["Telemetry:Enabled"] = "false";
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryOffServiceTestGroup : ICollectionFixture<TelemetryOffServiceFixture>
{
    public const string Name = "service-telemetry-off";
}
