using System.Collections.Concurrent;
using System.Net;
using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>Stands in for the service's webhook endpoint: keeps each body and Stripe-Signature and answers 200.</summary>
internal sealed class RecordingWebhookHandler : HttpMessageHandler
{
    private readonly ConcurrentQueue<(string Body, string Signature)> _received = new();

    public IReadOnlyList<(string Body, string Signature)> Received => _received.ToList();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsStringAsync(cancellationToken);
        _received.Enqueue((body, string.Join(",", request.Headers.GetValues(StripeWebhook.SignatureHeader))));
        return new HttpResponseMessage(HttpStatusCode.OK);
    }
}
