using System.Diagnostics;
using System.Net;
using Serverless.Testing.Stripe;
using Stripe;
using static Serverless.Integration.Tests.Stripe.StripeTestData;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>Injected failures, and what Stripe.net does with each of them.</summary>
public sealed class FakeStripeFailureTests
{
    [Fact]
    public async Task Rate_limit_carries_retry_after_and_stripe_net_does_not_retry_it_even_with_retries_on()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailNext(StripeFailure.RateLimited(TimeSpan.FromSeconds(2)), StripeEndpoint.MeterEvents);
        var client = stripe.CreateClient(maxNetworkRetries: 2);

        var error = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1)));

        Assert.Equal(HttpStatusCode.TooManyRequests, error.HttpStatusCode);
        Assert.Equal("rate_limit", error.StripeError.Code);
        Assert.Equal(TimeSpan.FromSeconds(2), error.StripeResponse.Headers.RetryAfter?.Delta);
        Assert.Equal(1, stripe.CallCount(StripeEndpoint.MeterEvents));
        Assert.Empty(stripe.AcceptedEvents);
    }

    [Fact]
    public async Task Server_error_fails_with_no_retries_and_is_retried_by_stripe_net_by_default()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailNext(2, StripeFailure.ServerError, StripeEndpoint.MeterEvents);

        var error = await Assert.ThrowsAsync<StripeException>(
            () => stripe.CreateClient(maxNetworkRetries: 0).V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1)));
        var retried = await new StripeClient(stripe.CreateClientOptions()).V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 2, "retried"));

        Assert.Equal(HttpStatusCode.InternalServerError, error.HttpStatusCode);
        Assert.Equal("api_error", error.StripeError.Type);
        Assert.Equal("retried", retried.Identifier);
        Assert.Equal(3, stripe.CallCount(StripeEndpoint.MeterEvents));
        Assert.Equal(2, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Timeout_after_accept_stores_the_event_and_resending_the_identifier_is_the_duplicate_error()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailNext(StripeFailure.TimeoutAfterAccept(), StripeEndpoint.MeterEvents);
        var client = stripe.CreateClient(timeout: TimeSpan.FromSeconds(1));

        var timeout = await Assert.ThrowsAsync<TaskCanceledException>(
            () => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 77, "lost-answer")));
        await stripe.WaitForAcceptedEventsAsync(1).WaitAsync(TimeSpan.FromSeconds(10));
        var duplicate = await Assert.ThrowsAsync<StripeException>(
            () => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 77, "lost-answer")));

        Assert.IsType<TimeoutException>(timeout.InnerException);
        Assert.NotNull(stripe.FindEvent("lost-answer"));
        Assert.Equal("An event already exists with identifier lost-answer.", duplicate.StripeError.Message);
        Assert.Equal(77, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Stripe_net_retry_after_a_timeout_reuses_its_idempotency_key_and_gets_the_stored_success()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailNext(StripeFailure.TimeoutAfterAccept(), StripeEndpoint.MeterEvents);
        var client = stripe.CreateClient(timeout: TimeSpan.FromSeconds(1), maxNetworkRetries: 1);

        var accepted = await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 5, "retried-by-sdk"));

        Assert.Equal("retried-by-sdk", accepted.Identifier);
        Assert.Equal(2, stripe.CallCount(StripeEndpoint.MeterEvents));
        Assert.Equal(1, stripe.IdempotentReplays);
        Assert.Equal(0, stripe.DuplicatesRejected);
        Assert.Single(stripe.AcceptedEvents);
    }

    [Fact]
    public async Task Abort_after_accept_is_a_connection_error_with_the_event_stored()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailNext(StripeFailure.AbortAfterAccept, StripeEndpoint.MeterEvents);

        await Assert.ThrowsAsync<HttpRequestException>(
            () => stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 3, "dropped")));
        await stripe.WaitForAcceptedEventsAsync(1).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.NotNull(stripe.FindEvent("dropped"));
    }

    [Fact]
    public async Task Slow_failure_delays_the_answer()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        stripe.FailNext(StripeFailure.Slow(TimeSpan.FromMilliseconds(400)), StripeEndpoint.MeterEvents);

        var watch = Stopwatch.StartNew();
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1));

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(390), watch.Elapsed.ToString());
        Assert.Equal(1, stripe.FailuresInjected);
    }

    [Fact]
    public async Task Slow_call_abandoned_by_the_client_is_not_executed()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailNext(StripeFailure.Slow(TimeSpan.FromSeconds(30)), StripeEndpoint.MeterEvents);

        await Assert.ThrowsAsync<TaskCanceledException>(() =>
            stripe.CreateClient(timeout: TimeSpan.FromMilliseconds(300)).V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "never")));
        await stripe.CreateClient().V1.Billing.Meters.ListAsync();

        Assert.Null(stripe.FindEvent("never"));
    }

    [Fact]
    public async Task Overlapping_meter_events_for_one_customer_and_meter_get_429_but_other_customers_do_not()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var other = stripe.AddCustomer("Other").Id;
        var client = stripe.CreateClient();
        var pause = stripe.PauseNext(StripeEndpoint.MeterEvents);

        var first = client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "first"));
        await pause.Arrived.WaitAsync(TimeSpan.FromSeconds(10));
        var overlapping = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "second")));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(other, 1, "other-customer"));
        pause.Release();
        await first;
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "second"));

        Assert.Equal(HttpStatusCode.TooManyRequests, overlapping.HttpStatusCode);
        Assert.Equal("rate_limit", overlapping.StripeError.Code);
        Assert.Equal(1, stripe.ConcurrencyRejections);
        Assert.Equal(2, stripe.PeakInFlightFor(customer, EventName));
        Assert.Equal(1, stripe.PeakInFlightFor(other, EventName));
        Assert.Equal(2, stripe.PeakInFlightPerCustomerAndMeter);
        Assert.Equal(2, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Random_failures_hit_about_the_requested_share_and_repeat_for_a_seed()
    {
        var first = await RunChaosAsync(seed: 7);
        var second = await RunChaosAsync(seed: 7);

        Assert.Equal(first, second);
        Assert.InRange(first.Count(failed => failed), 15, 45);
    }

    [Fact]
    public async Task Failure_scoped_to_an_endpoint_leaves_other_endpoints_alone()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        stripe.FailNext(StripeFailure.ServerError, StripeEndpoint.MeterEvents);

        await client.V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "unaffected" });
        await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1)));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1));

        Assert.Equal(1, stripe.FailuresInjected);
    }

    private static async Task<List<bool>> RunChaosAsync(int seed)
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        stripe.FailRandomly(0.3, seed, [StripeFailure.RateLimited(), StripeFailure.ServerError], StripeEndpoint.MeterEvents);
        var client = stripe.CreateClient();
        var outcomes = new List<bool>();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "chaos-" + i));
                outcomes.Add(false);
            }
            catch (StripeException e) when (e.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError)
            {
                outcomes.Add(true);
            }
        }

        Assert.Equal(outcomes.Count(failed => !failed), stripe.AcceptedEvents.Count);
        return outcomes;
    }
}
