using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Serverless.Core.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The standard OpenTelemetry setting that turns the OTLP exporter on (with the other OTEL_EXPORTER_OTLP_* settings).</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// The instruments (<see cref="ServerlessMetrics"/>), trace ids on every log record, and, when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, the OTLP exporter for traces, metrics and logs. Hosts add their own
    /// exporter (the local host's /metrics, the Functions app's Azure Monitor) with <see cref="WithServerlessTelemetry"/>.
    /// Nothing here listens to the service's spans and instruments unless an exporter is configured.
    /// </summary>
    public static IHostApplicationBuilder AddServerlessTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<TelemetryOptions>().Bind(builder.Configuration.GetSection(TelemetryOptions.SectionName)).ValidateOnStart();
        services.AddServerlessMetrics();

        // Every log record made inside a span carries its trace and span ids (as a scope to providers that read scopes,
        // as fields of the record to OpenTelemetry's), so a log line leads to its trace.
        services.Configure<LoggerFactoryOptions>(options =>
            options.ActivityTrackingOptions |= ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

        if (TelemetryOptions.IsEnabled(builder.Configuration) && !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]))
        {
            // OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, OTEL_SERVICE_NAME, ... are read by the SDK from configuration.
            services.AddOpenTelemetry().WithServerlessTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>The instruments (<see cref="ServerlessMetrics"/>), once however many features ask: each feature that records asks.</summary>
    public static IServiceCollection AddServerlessMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<ServerlessMetrics>();
        return services;
    }

    /// <summary>
    /// The service's spans, instruments and logs on an OpenTelemetry builder, for a host to add its exporter to. Call it
    /// only with an exporter: a tracer provider that exports nowhere still makes every span.
    /// </summary>
    public static IOpenTelemetryBuilder WithServerlessTelemetry(this IOpenTelemetryBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .ConfigureResource(resource => resource.AddService(serviceName: "serverless", serviceVersion: typeof(ServerlessTelemetry).Assembly.GetName().Version?.ToString(3)))
            .WithTracing(tracing => tracing.AddServerlessSpans())
            .WithMetrics(metrics => metrics.AddServerlessInstruments())
            .WithLogging();
    }

    /// <summary>
    /// Only the service's instruments (a host that exports metrics but not traces, like the local host's /metrics), and
    /// only this host's: several hosts in one process (tests) each have a "Serverless" meter, and OpenTelemetry matches
    /// meters by name, so without this an exporter would add up every host's measurements.
    /// </summary>
    public static MeterProviderBuilder AddServerlessInstruments(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddMeter(ServerlessTelemetry.Name);
        if (builder is IDeferredMeterProviderBuilder deferred)
        {
            deferred.Configure((services, metrics) =>
            {
                var own = services.GetService<IMeterFactory>();
                metrics.AddView(instrument =>
                    instrument.Meter.Name == ServerlessTelemetry.Name && own is not null && !ReferenceEquals(instrument.Meter.Scope, own) ? MetricStreamConfiguration.Drop : null);
            });
        }

        return builder;
    }

    /// <summary>
    /// The service's spans, and ASP.NET Core's span of each HTTP request they run under: a host's request activity that
    /// nobody sampled would make every span under it unsampled too (OpenTelemetry samples by the parent).
    /// </summary>
    public static TracerProviderBuilder AddServerlessSpans(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(ServerlessTelemetry.Name, AspNetCoreSource);
    }

    /// <summary>The activity source of ASP.NET Core's request activity (Microsoft.AspNetCore.Hosting.HttpRequestIn).</summary>
    public const string AspNetCoreSource = "Microsoft.AspNetCore";
}
