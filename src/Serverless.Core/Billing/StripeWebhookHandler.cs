using System.Text;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Billing;

/// <summary>
/// POST /stripe/webhook. The Stripe-Signature is verified (<see cref="StripeWebhookSignature"/>) before anything else;
/// the event is then applied once (<see cref="StripeWebhookProcessor"/>): an event id already processed is
/// acknowledged and ignored. Every event is counted by type and outcome (<c>serverless.webhook.events</c>).
/// </summary>
public sealed class StripeWebhookHandler(StripeWebhookSignature signature, StripeWebhookProcessor processor, ServerlessMetrics metrics) : IApiHandler
{
    public static readonly ApiRoute Route = new("StripeWebhook", "POST", "/stripe/webhook", ApiAuth.None, typeof(StripeWebhookHandler));

    private const long MaxBodyBytes = 1024 * 1024;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        signature.RequireSecret();
        var (payload, invalidText) = await ReadBodyAsync(call);
        StripeWebhookEvent stripeEvent;
        try
        {
            signature.Verify(payload, call.Http.Request.Headers[StripeWebhookSignature.Header].ToString());
            stripeEvent = StripeWebhookEvent.Parse(payload, invalidText);
        }
        catch (ApiException)
        {
            // Unsigned or unreadable: its type is not to be trusted, so it is not used as a label.
            metrics.CountWebhookEvent("unknown", "rejected");
            throw;
        }

        bool processed = await processor.ApplyOnceAsync(stripeEvent, call.Aborted);
        metrics.CountWebhookEvent(stripeEvent.Type, processed ? "processed" : "duplicate");
        call.Http.Response.ContentType = "application/json";
        await call.Http.Response.WriteAsync(processed ? "{\"received\":true}" : "{\"received\":true,\"duplicate\":true}", call.Aborted);
    }

    // The text, and what is wrong with its bytes as JSON text (decoding would hide bytes that are not UTF-8).
    private static async Task<(string Text, string? Invalid)> ReadBodyAsync(ApiCall call)
    {
        var request = call.Http.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            throw ApiException.PayloadTooLarge(MaxBodyBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, call.Aborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                throw ApiException.PayloadTooLarge(MaxBodyBytes);
            }
        }

        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        return (Encoding.UTF8.GetString(bytes), JsonText.FindInvalid(bytes));
    }
}
