using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using Serverless.Core.Models;
using Serverless.Core.Telemetry;

namespace Serverless.Functions;

/// <summary>
/// The Functions app's exporter: Azure Monitor (Application Insights) when APPLICATIONINSIGHTS_CONNECTION_STRING is set,
/// authenticated with the managed identity named in APPLICATIONINSIGHTS_AUTHENTICATION_STRING (infra/modules/functionApp.bicep:
/// local ingestion is off, so the connection string is no secret). With any exporter (that one, or OTLP from Core) the
/// worker's own spans and Azure resource attributes join (UseFunctionsWorkerDefaults). Off with Telemetry:Enabled=false.
/// </summary>
internal static class FunctionsTelemetryExtensions
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    public static IHostApplicationBuilder AddFunctionsTelemetry(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        bool azureMonitor = !string.IsNullOrWhiteSpace(configuration[ConnectionStringSetting]);
        bool otlp = !string.IsNullOrWhiteSpace(configuration[TelemetryServiceCollectionExtensions.OtlpEndpointSetting]);
        if (!TelemetryOptions.IsEnabled(configuration) || (!azureMonitor && !otlp))
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry().UseFunctionsWorkerDefaults();
        if (azureMonitor)
        {
            // The exporter reads the connection string and its other settings (sampling: OTEL_TRACES_SAMPLER, ...) from
            // configuration itself; only the identity is ours to give.
            telemetry.WithServerlessTelemetry().UseAzureMonitorExporter();
            if (Credential(configuration[AuthenticationSetting]) is { } credential)
            {
                builder.Services.Configure<AzureMonitorExporterOptions>(options => options.Credential = credential);
            }
        }

        return builder;
    }

    /// <summary>
    /// The identity Application Insights ingestion expects, from the setting the Functions host itself reads
    /// (<c>Authorization=AAD</c>, optionally <c>ClientId=&lt;user-assigned identity&gt;</c>); null for key-based ingestion.
    /// </summary>
    internal static TokenCredential? Credential(string? authentication)
    {
        if (string.IsNullOrWhiteSpace(authentication))
        {
            return null;
        }

        var parts = authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);
        return parts.TryGetValue("Authorization", out var kind) && string.Equals(kind, "AAD", StringComparison.OrdinalIgnoreCase)
            ? BlobServiceClientFactory.CreateCredential(parts.GetValueOrDefault("ClientId"))
            : null;
    }
}
