using Microsoft.Extensions.Configuration;

namespace Serverless.Core.Telemetry;

/// <summary>Section "Telemetry": OpenTelemetry traces, metrics and logs (exporters: README, Observability).</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>
    /// False switches OpenTelemetry off: no exporter, no /metrics, nothing listens to the service's spans and instruments
    /// (a benchmark compares both). Exporters are configured by their standard settings.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Read while services are registered (exporters are chosen then, before options exist).</summary>
    public static bool IsEnabled(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetSection(SectionName).GetValue(nameof(Enabled), true);
    }
}
