using System.Text;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Billing;

/// <summary>
/// POST /stripe/webhook. The Stripe-Signature is verified (<see cref="StripeWebhookSignature"/>) before anything else;
/// the event is then applied once (<see cref="StripeWebhookProcessor"/>): an event id already processed is
/// acknowledged and ignored.
/// </summary>
public sealed class StripeWebhookHandler(StripeWebhookSignature signature, StripeWebhookProcessor processor) : IApiHandler
{
    public static readonly ApiRoute Route = new("StripeWebhook", "POST", "/stripe/webhook", ApiAuth.None, typeof(StripeWebhookHandler));

    private const long MaxBodyBytes = 1024 * 1024;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        signature.RequireSecret();
        var (payload, invalidText) = await ReadBodyAsync(call);
        signature.Verify(payload, call.Http.Request.Headers[StripeWebhookSignature.Header].ToString());
        bool processed = await processor.ApplyOnceAsync(StripeWebhookEvent.Parse(payload, invalidText), call.Aborted);
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
