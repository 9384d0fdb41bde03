namespace Serverless.Testing.Stripe;

/// <summary>The groups of Stripe routes the fake serves; failures, pauses and call counts are per group.</summary>
public enum StripeEndpoint
{
    /// <summary>A path the fake does not serve (answered 404 as Stripe does).</summary>
    Unknown,

    /// <summary>POST /v1/customers, GET /v1/customers/{id}.</summary>
    Customers,

    /// <summary>POST and GET /v1/billing/meters, GET /v1/billing/meters/{id}, POST .../deactivate and .../reactivate.</summary>
    Meters,

    /// <summary>POST /v1/billing/meter_events.</summary>
    MeterEvents,

    /// <summary>POST /v1/billing/meter_event_adjustments.</summary>
    MeterEventAdjustments,

    /// <summary>GET /v1/billing/meters/{id}/event_summaries.</summary>
    MeterEventSummaries,

    /// <summary>POST /v2/billing/meter_event_session (API host, secret key).</summary>
    MeterEventSession,

    /// <summary>POST /v2/billing/meter_event_stream (meter events host, session token).</summary>
    MeterEventStream,

    /// <summary>GET /v2/core/events/{id}: the full event behind a thin webhook notification.</summary>
    Events,
}
