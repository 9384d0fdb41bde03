using Microsoft.Extensions.Options;
using Serverless.Core.Telemetry;
using Stripe;

namespace Serverless.Core.Billing;

/// <summary>
/// Stripe.net clients pointed at the configured hosts, with Stripe.net's own retries off: the exporter retries
/// with its own backoff and keeps every attempt's state in the database. Every call is a span and counted by outcome
/// (<see cref="StripeCallTelemetry"/>).
/// </summary>
public sealed class StripeClientFactory(IOptions<StripeOptions> options, ServerlessMetrics? metrics = null) : IDisposable
{
    private readonly StripeOptions _options = options.Value;
    private readonly Lazy<HttpClient> _http = new(() => new HttpClient(new StripeCallTelemetry(metrics) { InnerHandler = new SocketsHttpHandler() }) { Timeout = options.Value.RequestTimeout });

    public bool Enabled => _options.Enabled;

    public StripeClient Create() => CreateWithKey(_options.ApiKey ?? throw new InvalidOperationException("Stripe:ApiKey is not configured."));

    /// <summary>A client authenticated with another key (the v2 meter event session token).</summary>
    public StripeClient CreateWithKey(string apiKey) => new(new StripeClientOptions
    {
        ApiKey = apiKey,
        ApiBase = _options.ApiBase,
        MeterEventsBase = _options.MeterEventsBase,
        HttpClient = new SystemNetHttpClient(_http.Value, maxNetworkRetries: 0, appInfo: null, enableTelemetry: false),
    });

    public void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }
    }
}
