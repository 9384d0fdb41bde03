using OpenTelemetry;
using OpenTelemetry.Metrics;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Local;

/// <summary>
/// The local host's exporter: the service's metrics as a Prometheus scrape endpoint, <c>GET /metrics</c> on the
/// service's own port, answered only to the admin key (Prometheus' <c>authorization</c> scrape setting). Off with
/// <c>Telemetry:Enabled=false</c>. OTLP, when configured, comes from Core for both hosts.
/// </summary>
internal static class LocalTelemetryExtensions
{
    public const string MetricsPath = "/metrics";

    public static WebApplicationBuilder AddLocalTelemetry(this WebApplicationBuilder builder)
    {
        if (TelemetryOptions.IsEnabled(builder.Configuration))
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddServerlessInstruments().AddPrometheusExporter());
        }

        return builder;
    }

    public static WebApplication MapMetrics(this WebApplication app)
    {
        if (!TelemetryOptions.IsEnabled(app.Configuration))
        {
            return app;
        }

        // The route table's paths and this one must never meet: one of them would stop answering.
        if (app.Services.GetRequiredService<ApiRouteTable>().All.FirstOrDefault(r => string.Equals(r.Template, MetricsPath, StringComparison.OrdinalIgnoreCase)) is { } clash)
        {
            throw new InvalidOperationException($"The route {clash.Name} ({clash.Method} {clash.Pattern}) clashes with the metrics endpoint {MetricsPath}.");
        }

        var authenticator = app.Services.GetRequiredService<IApiAuthenticator>();
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            try
            {
                authenticator.RequireAdmin(http);
            }
            catch (ApiException refused)
            {
                await ApiDispatcher.WriteErrorAsync(http, refused);
                return;
            }

            await next(http);
        }), optionsName: null);
        return app;
    }
}
