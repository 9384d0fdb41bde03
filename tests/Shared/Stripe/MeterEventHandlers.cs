using System.Globalization;

namespace Serverless.Testing.Stripe;

/// <summary>POST /v1/billing/meter_events and POST /v1/billing/meter_event_adjustments.</summary>
internal static class MeterEventHandlers
{
    private static readonly HashSet<string> CreateParameters = ["event_name", "payload", "identifier", "timestamp"];

    private static readonly HashSet<string> AdjustmentParameters = ["event_name", "type", "cancel"];

    /// <summary>The customer-and-meter pair a meter event call occupies (the meter's mapping key, else stripe_customer_id).</summary>
    public static (string Customer, string EventName)? ConcurrencySlot(FakeStripeStore store, StripeForm form)
    {
        var eventName = form["event_name"];
        if (eventName is null)
        {
            return null;
        }

        var key = store.ActiveMeter(eventName)?.CustomerPayloadKey ?? "stripe_customer_id";
        return form[$"payload[{key}]"] is { } customer ? (customer, eventName) : null;
    }

    public static FakeStripeResponse Create(FakeStripeStore store, FakeStripeRequest request)
    {
        var form = request.Parameters;
        if (form.FirstUnknown(CreateParameters) is { } unknown)
        {
            return StripeErrors.Unknown(unknown);
        }

        var eventName = form["event_name"];
        if (string.IsNullOrEmpty(eventName))
        {
            return StripeErrors.Missing("event_name");
        }

        var payload = form.Hash("payload");
        if (payload is null)
        {
            return StripeErrors.Missing("payload");
        }

        var timestamp = request.Now;
        if (form["timestamp"] is { } timestampText)
        {
            if (!long.TryParse(timestampText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
            {
                return StripeErrors.Invalid($"Invalid integer: {timestampText}", "timestamp", "parameter_invalid_integer");
            }

            timestamp = DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        var identifier = form["identifier"] is { Length: > 0 } given ? given : StripeEventPayloads.NewId("");
        if (store.IsDuplicate(identifier, request.Now))
        {
            store.DuplicatesRejected++;
            return StripeErrors.Invalid($"An event already exists with identifier {identifier}.", "identifier")
                .WithHeader("Stripe-Should-Retry", "false");
        }

        var check = store.Check(eventName, payload, timestamp, request.Now);
        if (!check.Succeeded)
        {
            // A refusal of the event itself (a timestamp out of the window, an unknown customer, ...): sending it again cannot help.
            return StripeErrors.Invalid(check.ErrorMessage!, check.ErrorParam, check.ErrorCode)
                .WithHeader("Stripe-Should-Retry", "false");
        }

        var accepted = new AcceptedMeterEvent(identifier, eventName, check.Meter!.Id, check.CustomerId!, check.Value,
            payload, timestamp, request.Now, MeterEventSource.V1, CancelledAt: null);
        store.Accept(accepted);
        return FakeStripeResponse.Ok(StripeJson.MeterEvent(accepted));
    }

    public static FakeStripeResponse Adjust(FakeStripeStore store, FakeStripeRequest request)
    {
        var form = request.Parameters;
        if (form.FirstUnknown(AdjustmentParameters) is { } unknown)
        {
            return StripeErrors.Unknown(unknown);
        }

        var eventName = form["event_name"];
        if (string.IsNullOrEmpty(eventName))
        {
            return StripeErrors.Missing("event_name");
        }

        var type = form["type"];
        if (string.IsNullOrEmpty(type))
        {
            return StripeErrors.Missing("type");
        }

        if (type != "cancel")
        {
            return StripeErrors.Invalid("Invalid type: must be one of cancel", "type", "parameter_invalid_string");
        }

        var identifier = form["cancel[identifier]"];
        if (string.IsNullOrEmpty(identifier))
        {
            return StripeErrors.Missing("cancel[identifier]");
        }

        var meterEvent = store.FindEvent(identifier);
        if (meterEvent is null || meterEvent.EventName != eventName)
        {
            return StripeErrors.V1(404, StripeErrors.InvalidRequest,
                $"No meter event with identifier '{identifier}' was found for event_name `{eventName}`.", "resource_missing", "cancel[identifier]");
        }

        if (meterEvent.Cancelled)
        {
            return StripeErrors.Invalid($"The meter event with identifier '{identifier}' has already been cancelled.", "cancel[identifier]");
        }

        if (request.Now - meterEvent.Received > store.Options.CancelWindow)
        {
            return StripeErrors.Invalid(
                $"The meter event with identifier '{identifier}' can no longer be cancelled: events can only be cancelled within 24 hours of being received.",
                "cancel[identifier]");
        }

        store.ReplaceEvent(meterEvent with { CancelledAt = request.Now });
        return FakeStripeResponse.Ok(StripeJson.Adjustment(eventName, identifier));
    }
}
