using System.Net;
using Serverless.Testing.Stripe;
using Stripe;
using Stripe.V2.Billing;
using static Serverless.Integration.Tests.Stripe.StripeTestData;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>Several secret keys of one account, and the fake's log of who called when and what each call got accepted.</summary>
public sealed class FakeStripeCallLogTests
{
    [Fact]
    public async Task Another_secret_key_of_the_account_is_accepted_and_the_log_names_each_calls_key_window_and_accepted_events()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        string second = stripe.AddApiKey();

        await stripe.CreateClient(apiKey: second).V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 5, "from-second"));
        await stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 7, "from-first"));
        var refused = await Assert.ThrowsAsync<StripeException>(() => stripe.CreateClient(apiKey: "sk_test_unknown_key_0000").V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 9)));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);
        Assert.Equal(12, stripe.TotalFor(customer, EventName));
        var calls = stripe.Calls;
        Assert.Equal(
            [(second, 200, "from-second"), (stripe.ApiKey, 200, "from-first"), (null, 401, "")],
            calls.Select(c => (c.ApiKey, c.Status, string.Join(',', c.Accepted))).ToList());
        Assert.All(calls, c => Assert.Equal(StripeEndpoint.MeterEvents, c.Endpoint));
        Assert.All(calls, c => Assert.True(c.Started <= c.Ended));
        Assert.False(calls[0].Overlaps(calls[1]));
    }

    [Fact]
    public async Task Stream_calls_are_logged_under_the_key_that_opened_their_session()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        string second = stripe.AddApiKey();

        var session = await stripe.CreateClient(apiKey: second).V2.Billing.MeterEventSession.CreateAsync(new MeterEventSessionCreateOptions());
        await stripe.CreateClient(apiKey: session.AuthenticationToken).V2.Billing.MeterEventStream.CreateAsync(new MeterEventStreamCreateOptions
        {
            Events =
            [
                new MeterEventStreamCreateEventOptions
                {
                    EventName = EventName,
                    Identifier = "streamed",
                    Payload = new Dictionary<string, string> { ["stripe_customer_id"] = customer, ["value"] = "3" },
                    Timestamp = DateTime.UtcNow,
                },
            ],
        });

        var stream = Assert.Single(stripe.Calls, c => c.Endpoint == StripeEndpoint.MeterEventStream);
        Assert.Equal(second, stream.ApiKey);
        Assert.Equal(["streamed"], stream.Accepted);
        Assert.Equal(second, Assert.Single(stripe.Calls, c => c.Endpoint == StripeEndpoint.MeterEventSession).ApiKey);
    }

    [Fact]
    public async Task A_call_held_by_the_fake_is_open_in_the_log_and_overlaps_the_calls_made_meanwhile()
    {
        var (stripe, first) = await StartWithMeterAsync();
        await using var _ = stripe;
        string other = stripe.AddCustomer("Other").Id;
        string second = stripe.AddApiKey();

        var held = stripe.PauseNext(StripeEndpoint.MeterEvents);
        var slow = stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(MeterEvent(first, 1, "held"));
        await held.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await stripe.CreateClient(apiKey: second).V1.Billing.MeterEvents.CreateAsync(MeterEvent(other, 2, "meanwhile"));

        var open = stripe.Calls[0];
        Assert.True(open.IsOpen);
        Assert.Null(open.Status);
        Assert.Empty(open.Accepted);
        Assert.True(open.Overlaps(stripe.Calls[1]));

        held.Release();
        await slow.WaitAsync(TimeSpan.FromSeconds(30));
        await stripe.CreateClient(apiKey: second).V1.Billing.MeterEvents.CreateAsync(MeterEvent(other, 3, "after"));

        var calls = stripe.Calls;
        Assert.False(calls[0].IsOpen);
        Assert.Equal(["held"], calls[0].Accepted);
        Assert.True(calls[0].Overlaps(calls[1]));
        Assert.False(calls[0].Overlaps(calls[2]));
    }
}
