using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Serverless.Testing.Stripe;
using Stripe.Billing;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>Builders shared by the fake Stripe tests.</summary>
internal static class StripeTestData
{
    public const string EventName = "inference_tokens";

    /// <summary>A fixed clock for the fake, mid-morning UTC so day and hour windows are easy to reason about.</summary>
    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));

    public static MeterEventCreateOptions MeterEvent(string customerId, string value, string? identifier = null, DateTimeOffset? timestamp = null,
        string eventName = EventName) => new()
    {
        EventName = eventName,
        Identifier = identifier ?? "evt-" + Guid.NewGuid().ToString("N"),
        Payload = new Dictionary<string, string> { ["stripe_customer_id"] = customerId, ["value"] = value },
        Timestamp = timestamp?.UtcDateTime,
    };

    public static MeterEventCreateOptions MeterEvent(string customerId, long value, string? identifier = null, DateTimeOffset? timestamp = null) =>
        MeterEvent(customerId, value.ToString(CultureInfo.InvariantCulture), identifier, timestamp);

    public static async Task<(FakeStripeServer Stripe, string CustomerId)> StartWithMeterAsync(FakeStripeOptions? options = null, string formula = "sum")
    {
        var stripe = await FakeStripeServer.StartAsync(options);
        stripe.AddMeter(EventName, formula);
        return (stripe, stripe.AddCustomer("Acme").Id);
    }
}
