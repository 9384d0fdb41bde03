using System.Net;
using Serverless.Testing.Stripe;
using Stripe;
using Stripe.Events;
using Stripe.V2;
using Stripe.V2.Billing;
using static Serverless.Integration.Tests.Stripe.StripeTestData;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>The v2 meter event session and stream, driven through Stripe.net.</summary>
public sealed class FakeStripeStreamTests
{
    private static MeterEventStreamCreateEventOptions StreamEvent(string customer, string value, string? identifier = null, string eventName = EventName) => new()
    {
        EventName = eventName,
        Identifier = identifier ?? "s-" + Guid.NewGuid().ToString("N"),
        Payload = new Dictionary<string, string> { ["stripe_customer_id"] = customer, ["value"] = value },
        Timestamp = DateTime.UtcNow,
    };

    private static async Task<StripeClient> StreamClientAsync(FakeStripeServer stripe)
    {
        var session = await stripe.CreateClient().V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions());
        return stripe.CreateClient(apiKey: session.AuthenticationToken);
    }

    [Fact]
    public async Task Session_token_lasts_15_minutes_and_streamed_events_are_accepted()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;

        var session = await stripe.CreateClient().V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions());
        var stream = stripe.CreateClient(apiKey: session.AuthenticationToken);
        var answer = await stream.V2.Billing.MeterEventStream.CreateAsync(new MeterEventStreamCreateOptions
        {
            Events = [StreamEvent(customer, "100", "a"), StreamEvent(customer, "20", "b"), StreamEvent(customer, "3", "c")],
        });

        Assert.Equal("v2.billing.meter_event_session", session.Object);
        Assert.Equal(TimeSpan.FromMinutes(15), session.ExpiresAt - session.Created);
        Assert.Equal(HttpStatusCode.OK, answer.StripeResponse.StatusCode);
        Assert.Equal(123, stripe.TotalFor(customer, EventName));
        Assert.All(stripe.AcceptedEvents, e => Assert.Equal(MeterEventSource.V2Stream, e.Source));
        Assert.Equal(1, stripe.CallCount(StripeEndpoint.MeterEventSession));
        Assert.Equal(1, stripe.CallCount(StripeEndpoint.MeterEventStream));
    }

    [Fact]
    public async Task One_client_can_stream_by_passing_the_session_token_per_request()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        var session = await client.V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions());

        await client.V2.Billing.MeterEventStream.CreateAsync(
            new MeterEventStreamCreateOptions { Events = [StreamEvent(customer, "8")] },
            new RequestOptions { ApiKey = session.AuthenticationToken });

        Assert.Equal(8, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task More_than_100_events_in_one_request_are_refused()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var stream = await StreamClientAsync(stripe);

        var error = await Assert.ThrowsAsync<StripeException>(() => stream.V2.Billing.MeterEventStream.CreateAsync(
            new MeterEventStreamCreateOptions { Events = Enumerable.Range(0, 101).Select(_ => StreamEvent(customer, "1")).ToList() }));
        await stream.V2.Billing.MeterEventStream.CreateAsync(
            new MeterEventStreamCreateOptions { Events = Enumerable.Range(0, 100).Select(_ => StreamEvent(customer, "1")).ToList() });

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal(100, stripe.AcceptedEvents.Count);
    }

    [Fact]
    public async Task Bad_events_do_not_fail_the_request_and_become_error_reports()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var stream = await StreamClientAsync(stripe);

        await stream.V2.Billing.MeterEventStream.CreateAsync(new MeterEventStreamCreateOptions
        {
            Events =
            [
                StreamEvent(customer, "5", "good"),
                StreamEvent(customer, "2.5", "fractional"),
                StreamEvent("cus_nobody", "1", "stranger"),
                StreamEvent(customer, "1", "unmetered", eventName: "no_such_meter"),
            ],
        });

        Assert.Equal("good", Assert.Single(stripe.AcceptedEvents).Identifier);
        var reports = stripe.ErrorReports;
        Assert.Equal(2, reports.Count);
        var meterReport = Assert.Single(reports, r => r.EventType == StripeEventPayloads.MeterErrorReportTriggeredType);
        Assert.Equal(Assert.Single(stripe.Meters).Id, meterReport.MeterId);
        Assert.Equal(
            [("meter_event_invalid_value", "fractional"), ("meter_event_customer_not_found", "stranger")],
            meterReport.Errors.Select(e => (e.Code, e.Identifier)));
        var noMeter = Assert.Single(reports, r => r.EventType == StripeEventPayloads.MeterNoMeterFoundType);
        Assert.Null(noMeter.MeterId);
        Assert.Equal("no_meter", Assert.Single(noMeter.Errors).Code);
    }

    [Fact]
    public async Task Error_report_arrives_as_a_signed_thin_event_that_stripe_net_parses_and_fetches()
    {
        using var receiver = new RecordingWebhookHandler();
        var options = new FakeStripeOptions { WebhookEndpoint = new Uri("http://service.test/webhooks/stripe"), WebhookHandler = receiver };
        var (stripe, customer) = await StartWithMeterAsync(options);
        await using var _ = stripe;
        var stream = await StreamClientAsync(stripe);

        await stream.V2.Billing.MeterEventStream.CreateAsync(new MeterEventStreamCreateOptions { Events = [StreamEvent(customer, "0.5", "half")] });
        await stripe.WaitForWebhookDeliveriesAsync(1).WaitAsync(TimeSpan.FromSeconds(10));

        var (body, signature) = Assert.Single(receiver.Received);
        var client = stripe.CreateClient();
        var notification = Assert.IsType<V1BillingMeterErrorReportTriggeredEventNotification>(
            client.ParseEventNotification(body, signature, stripe.WebhookSecret));
        var full = await notification.FetchEventAsync();
        var meter = await notification.FetchRelatedObjectAsync();

        Assert.Equal(200, Assert.Single(stripe.WebhookDeliveries).StatusCode);
        Assert.Equal("v1.billing.meter.error_report_triggered", notification.Type);
        Assert.Equal(Assert.Single(stripe.Meters).Id, notification.RelatedObject.Id);
        Assert.Equal(notification.RelatedObject.Id, meter.Id);
        Assert.Equal(1, full.Data.Reason.ErrorCount);
        var errorType = Assert.Single(full.Data.Reason.ErrorTypes);
        Assert.Equal("meter_event_invalid_value", errorType.Code);
        Assert.Equal("half", Assert.Single(errorType.SampleErrors).Request.Identifier);
        Assert.Throws<ArgumentException>(() => EventUtility.ConstructEvent(body, signature, stripe.WebhookSecret));
    }

    [Fact]
    public async Task Expired_session_token_is_refused_as_temporary_session_expired_until_a_new_session_is_made()
    {
        var clock = Clock();
        var (stripe, customer) = await StartWithMeterAsync(new FakeStripeOptions { TimeProvider = clock });
        await using var _ = stripe;
        var stream = await StreamClientAsync(stripe);
        var events = new MeterEventStreamCreateOptions { Events = [new() { EventName = EventName, Payload = new() { ["stripe_customer_id"] = customer, ["value"] = "1" } }] };
        await stream.V2.Billing.MeterEventStream.CreateAsync(events);

        clock.Advance(TimeSpan.FromMinutes(15));
        var error = await Assert.ThrowsAsync<TemporarySessionExpiredException>(() => stream.V2.Billing.MeterEventStream.CreateAsync(events));
        await (await StreamClientAsync(stripe)).V2.Billing.MeterEventStream.CreateAsync(events);

        Assert.Equal(HttpStatusCode.Unauthorized, error.HttpStatusCode);
        Assert.Equal("temporary_session_expired", error.StripeError.Type);
        Assert.Equal("billing_meter_event_session_expired", error.StripeError.Code);
        Assert.Equal(2, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Stream_refuses_the_secret_key_and_sessions_can_be_expired_on_demand()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var stream = await StreamClientAsync(stripe);
        var events = new MeterEventStreamCreateOptions { Events = [StreamEvent(customer, "1")] };

        var withSecretKey = await Assert.ThrowsAsync<StripeException>(() => stripe.CreateClient().V2.Billing.MeterEventStream.CreateAsync(events));
        stripe.ExpireMeterEventSessions();
        await Assert.ThrowsAsync<TemporarySessionExpiredException>(() => stream.V2.Billing.MeterEventStream.CreateAsync(events));

        Assert.Equal(HttpStatusCode.Unauthorized, withSecretKey.HttpStatusCode);
        Assert.Empty(stripe.AcceptedEvents);
    }

    [Fact]
    public async Task Stream_is_served_only_on_the_meter_events_base_and_the_rest_only_on_the_api_base()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var session = await stripe.CreateClient().V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions());
        var misconfigured = new StripeClient(new StripeClientOptions
        {
            ApiKey = session.AuthenticationToken,
            ApiBase = stripe.MeterEventsBase,
            MeterEventsBase = stripe.ApiBase,
            HttpClient = new SystemNetHttpClient(maxNetworkRetries: 0),
        });

        var stream = await Assert.ThrowsAsync<StripeException>(() => misconfigured.V2.Billing.MeterEventStream.CreateAsync(
            new MeterEventStreamCreateOptions { Events = [StreamEvent(customer, "1")] }));
        var sessionCall = await Assert.ThrowsAsync<StripeException>(
            () => misconfigured.V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions()));

        Assert.NotEqual(stripe.ApiBase, stripe.MeterEventsBase);
        Assert.Equal(HttpStatusCode.NotFound, stream.HttpStatusCode);
        Assert.StartsWith("Unrecognized request URL (POST: /v2/billing/meter_event_stream)", stream.StripeError.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, sessionCall.HttpStatusCode);
    }

    [Fact]
    public async Task Injected_rate_limit_on_the_stream_is_a_v2_rate_limit_exception()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var stream = await StreamClientAsync(stripe);
        stripe.FailNext(StripeFailure.RateLimited(TimeSpan.FromSeconds(3)), StripeEndpoint.MeterEventStream);

        var error = await Assert.ThrowsAsync<RateLimitException>(() => stream.V2.Billing.MeterEventStream.CreateAsync(
            new MeterEventStreamCreateOptions { Events = [StreamEvent(customer, "1")] }));

        Assert.Equal(HttpStatusCode.TooManyRequests, error.HttpStatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), error.StripeResponse.Headers.RetryAfter?.Delta);
        Assert.Empty(stripe.AcceptedEvents);
    }

    [Fact]
    public async Task Streamed_event_with_an_identifier_already_accepted_is_dropped_silently()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        await stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 4, "same"));
        var stream = await StreamClientAsync(stripe);

        await stream.V2.Billing.MeterEventStream.CreateAsync(new MeterEventStreamCreateOptions { Events = [StreamEvent(customer, "4", "same")] });

        Assert.Equal(4, stripe.TotalFor(customer, EventName));
        Assert.Equal(1, stripe.DuplicatesRejected);
        Assert.Empty(stripe.ErrorReports);
    }
}
