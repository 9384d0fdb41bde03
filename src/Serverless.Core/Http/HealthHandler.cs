using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>GET /health: the process is up and serving. No authentication, no dependencies touched.</summary>
public sealed class HealthHandler : IApiHandler
{
    public static readonly ApiRoute Route = new("Health", "GET", "/health", ApiAuth.None, typeof(HealthHandler));

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return call.WriteJsonAsync(new HealthStatus("ok"), ApiJsonContext.Default.HealthStatus);
    }
}

public sealed record HealthStatus(string Status);
