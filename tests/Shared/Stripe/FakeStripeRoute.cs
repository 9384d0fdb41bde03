using Microsoft.AspNetCore.Http;

namespace Serverless.Testing.Stripe;

/// <summary>A matched route: its endpoint group, handler (run under the store's lock), and where and how it is served.</summary>
internal sealed record FakeStripeRoute(
    StripeEndpoint Endpoint,
    Func<FakeStripeStore, FakeStripeRequest, FakeStripeResponse> Handler,
    string[] Segments)
{
    public bool IsV2 => Segments[0] == "v2";

    /// <summary>Stripe serves the meter event stream, and only it, from its meter-events host.</summary>
    public bool OnMeterEventsHost => Endpoint == StripeEndpoint.MeterEventStream;

    public static FakeStripeRoute? Match(string method, string path)
    {
        var s = path.Trim('/').Split('/');
        var post = HttpMethods.IsPost(method);
        var get = HttpMethods.IsGet(method);
        return (s, post, get) switch
        {
            (["v1", "customers"], true, _) => new(StripeEndpoint.Customers, CustomerHandlers.Create, s),
            (["v1", "customers", _], _, true) => new(StripeEndpoint.Customers, CustomerHandlers.Retrieve, s),
            (["v1", "billing", "meters"], true, _) => new(StripeEndpoint.Meters, MeterHandlers.Create, s),
            (["v1", "billing", "meters"], _, true) => new(StripeEndpoint.Meters, MeterHandlers.List, s),
            (["v1", "billing", "meters", _], _, true) => new(StripeEndpoint.Meters, MeterHandlers.Retrieve, s),
            (["v1", "billing", "meters", _, "deactivate"], true, _) => new(StripeEndpoint.Meters, MeterHandlers.Deactivate, s),
            (["v1", "billing", "meters", _, "reactivate"], true, _) => new(StripeEndpoint.Meters, MeterHandlers.Reactivate, s),
            (["v1", "billing", "meters", _, "event_summaries"], _, true) => new(StripeEndpoint.MeterEventSummaries, MeterEventSummaryHandler.List, s),
            (["v1", "billing", "meter_events"], true, _) => new(StripeEndpoint.MeterEvents, MeterEventHandlers.Create, s),
            (["v1", "billing", "meter_event_adjustments"], true, _) => new(StripeEndpoint.MeterEventAdjustments, MeterEventHandlers.Adjust, s),
            (["v2", "billing", "meter_event_session"], true, _) => new(StripeEndpoint.MeterEventSession, MeterEventStreamHandlers.CreateSession, s),
            (["v2", "billing", "meter_event_stream"], true, _) => new(StripeEndpoint.MeterEventStream, MeterEventStreamHandlers.Stream, s),
            (["v2", "core", "events", _], _, true) => new(StripeEndpoint.Events, MeterEventStreamHandlers.RetrieveEvent, s),
            _ => null,
        };
    }
}
