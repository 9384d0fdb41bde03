using System.Diagnostics;
using System.Globalization;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Billing;

/// <summary>
/// Every call to Stripe, whoever makes it (exporter, reconciler, setup, customers): a client span named after the
/// operation (<c>stripe POST /v1/billing/meter_events</c>, ids in paths written <c>{id}</c>) and a count in
/// <c>serverless.stripe.calls</c> by operation and outcome. Bodies (customer ids, amounts) are never recorded.
/// </summary>
internal sealed class StripeCallTelemetry(ServerlessMetrics? metrics) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string operation = Operation(request);
        using var span = ServerlessTelemetry.Source.HasListeners() ? ServerlessTelemetry.Start("stripe " + operation, ActivityKind.Client) : null;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryAttributes.HttpMethod, request.Method.Method);
            span.SetTag(TelemetryAttributes.ServerAddress, request.RequestUri?.Host);
            span.SetTag(TelemetryAttributes.StripeOperation, operation);
        }

        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            int status = (int)response.StatusCode;
            string outcome = status < 400 ? "success" : status == 429 ? "rate_limited" : status >= 500 ? "server_error" : "client_error";
            metrics?.CountStripeCall(operation, outcome);
            if (span is not null)
            {
                span.SetTag(TelemetryAttributes.HttpStatusCode, status);
                if (status >= 400)
                {
                    span.SetTag(TelemetryAttributes.ErrorType, status.ToString(CultureInfo.InvariantCulture)).SetStatus(ActivityStatusCode.Error);
                }
            }

            return response;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            metrics?.CountStripeCall(operation, "network_error");
            span?.SetTag(TelemetryAttributes.ErrorType, ex.GetType().FullName).SetStatus(ActivityStatusCode.Error);
            throw;
        }
    }

    /// <summary>The method and the path with every id-like segment (one with a digit, other than the API version) as <c>{id}</c>.</summary>
    internal static string Operation(HttpRequestMessage request)
    {
        var segments = (request.RequestUri?.AbsolutePath ?? "/").Split('/');
        for (int i = 0; i < segments.Length; i++)
        {
            string segment = segments[i];
            bool version = segment.Length >= 2 && segment[0] == 'v' && segment.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0;
            if (!version && segment.AsSpan().IndexOfAnyInRange('0', '9') >= 0)
            {
                segments[i] = "{id}";
            }
        }

        return request.Method.Method + " " + string.Join('/', segments);
    }
}
