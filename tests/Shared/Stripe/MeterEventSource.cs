namespace Serverless.Testing.Stripe;

/// <summary>Which API delivered a meter event.</summary>
public enum MeterEventSource
{
    /// <summary>POST /v1/billing/meter_events.</summary>
    V1,

    /// <summary>POST /v2/billing/meter_event_stream.</summary>
    V2Stream,
}
