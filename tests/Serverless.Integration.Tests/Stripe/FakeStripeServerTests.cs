using System.Net;
using Serverless.Testing.Stripe;
using Stripe;
using Stripe.Billing;
using static Serverless.Integration.Tests.Stripe.StripeTestData;

namespace Serverless.Integration.Tests.Stripe;

/// <summary>The fake's v1 API, driven only through Stripe.net as the service will drive Stripe.</summary>
public sealed class FakeStripeServerTests
{
    [Fact]
    public async Task Created_customer_can_be_retrieved()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var client = stripe.CreateClient();

        var created = await client.V1.Customers.CreateAsync(new CustomerCreateOptions
        {
            Name = "Acme Ltd",
            Email = "billing@acme.test",
            Metadata = new Dictionary<string, string> { ["tenant"] = "t-42" },
        });
        var fetched = await client.V1.Customers.GetAsync(created.Id);

        Assert.StartsWith("cus_", created.Id, StringComparison.Ordinal);
        Assert.Equal("customer", created.Object);
        Assert.False(created.Livemode);
        Assert.Equal(created.Id, fetched.Id);
        Assert.Equal("Acme Ltd", fetched.Name);
        Assert.Equal("billing@acme.test", fetched.Email);
        Assert.Equal("t-42", fetched.Metadata["tenant"]);
        Assert.Equal(created.Id, Assert.Single(stripe.Customers).Id);
    }

    [Fact]
    public async Task Unknown_customer_is_404_resource_missing()
    {
        await using var stripe = await FakeStripeServer.StartAsync();

        var error = await Assert.ThrowsAsync<StripeException>(() => stripe.CreateClient().V1.Customers.GetAsync("cus_missing"));

        Assert.Equal(HttpStatusCode.NotFound, error.HttpStatusCode);
        Assert.Equal("resource_missing", error.StripeError.Code);
        Assert.Equal("No such customer: 'cus_missing'", error.StripeError.Message);
    }

    [Fact]
    public async Task Unknown_parameter_is_rejected_like_stripe()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var options = new CustomerCreateOptions { Name = "Acme" };
        options.AddExtraParam("nickname", "ac");

        var error = await Assert.ThrowsAsync<StripeException>(() => stripe.CreateClient().V1.Customers.CreateAsync(options));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("Received unknown parameter: nickname", error.StripeError.Message);
    }

    [Fact]
    public async Task Meters_are_created_listed_newest_first_with_paging_and_retrieved()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var client = stripe.CreateClient();
        var ids = new List<string>();
        foreach (var name in new[] { "input_tokens", "output_tokens", "requests" })
        {
            var meter = await client.V1.Billing.Meters.CreateAsync(new MeterCreateOptions
            {
                DisplayName = name,
                EventName = name,
                DefaultAggregation = new MeterDefaultAggregationOptions { Formula = name == "requests" ? "count" : "sum" },
                CustomerMapping = new MeterCustomerMappingOptions { EventPayloadKey = "stripe_customer_id", Type = "by_id" },
                ValueSettings = new MeterValueSettingsOptions { EventPayloadKey = "value" },
            });
            ids.Add(meter.Id);
        }

        var first = await client.V1.Billing.Meters.ListAsync(new MeterListOptions { Limit = 2 });
        var rest = await client.V1.Billing.Meters.ListAsync(new MeterListOptions { Limit = 2, StartingAfter = first.Data[^1].Id });
        var one = await client.V1.Billing.Meters.GetAsync(ids[2]);

        Assert.Equal([ids[2], ids[1]], first.Data.Select(m => m.Id));
        Assert.True(first.HasMore);
        Assert.Equal([ids[0]], rest.Data.Select(m => m.Id));
        Assert.False(rest.HasMore);
        Assert.Equal("requests", one.EventName);
        Assert.Equal("count", one.DefaultAggregation.Formula);
        Assert.Equal("stripe_customer_id", one.CustomerMapping.EventPayloadKey);
        Assert.Equal("by_id", one.CustomerMapping.Type);
        Assert.Equal("value", one.ValueSettings.EventPayloadKey);
        Assert.Equal("active", one.Status);
    }

    [Fact]
    public async Task Meter_with_an_active_event_name_is_rejected()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        stripe.AddMeter(EventName);
        var options = new MeterCreateOptions
        {
            DisplayName = "again",
            EventName = EventName,
            DefaultAggregation = new MeterDefaultAggregationOptions { Formula = "sum" },
        };

        var error = await Assert.ThrowsAsync<StripeException>(() => stripe.CreateClient().V1.Billing.Meters.CreateAsync(options));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("invalid_request_error", error.StripeError.Type);
        Assert.Equal("event_name", error.StripeError.Param);
        Assert.Contains(EventName, error.StripeError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deactivated_meter_refuses_events_until_reactivated()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        var meterId = Assert.Single(stripe.Meters).Id;

        var deactivated = await client.V1.Billing.Meters.DeactivateAsync(meterId);
        var refused = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1)));
        var inactive = await client.V1.Billing.Meters.ListAsync(new MeterListOptions { Status = "inactive" });
        var reactivated = await client.V1.Billing.Meters.ReactivateAsync(meterId);
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1));

        Assert.Equal("inactive", deactivated.Status);
        Assert.NotNull(deactivated.StatusTransitions.DeactivatedAt);
        Assert.Equal("archived_meter", refused.StripeError.Code);
        Assert.Equal(meterId, Assert.Single(inactive.Data).Id);
        Assert.Equal("active", reactivated.Status);
        Assert.Equal(1, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Meter_event_is_accepted_and_echoed()
    {
        var clock = Clock();
        var (stripe, customer) = await StartWithMeterAsync(new FakeStripeOptions { TimeProvider = clock });
        await using var _ = stripe;
        var at = clock.GetUtcNow().AddMinutes(-3);

        var accepted = await stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1234, "bucket-1", at));

        Assert.Equal("billing.meter_event", accepted.Object);
        Assert.Equal("bucket-1", accepted.Identifier);
        Assert.Equal(EventName, accepted.EventName);
        Assert.Equal(customer, accepted.Payload["stripe_customer_id"]);
        Assert.Equal("1234", accepted.Payload["value"]);
        Assert.Equal(at.UtcDateTime, accepted.Timestamp);
        var stored = Assert.Single(stripe.AcceptedEvents);
        Assert.Equal(("bucket-1", 1234L, MeterEventSource.V1), (stored.Identifier, stored.Value, stored.Source));
        Assert.Equal(1234, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Meter_event_with_a_used_identifier_is_refused_with_stripes_duplicate_error()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 10, "bucket-7"));

        var error = await Assert.ThrowsAsync<StripeException>(
            () => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 10, "bucket-7")));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("invalid_request_error", error.StripeError.Type);
        Assert.Equal("An event already exists with identifier bucket-7.", error.StripeError.Message);
        Assert.Equal("An event already exists with identifier bucket-7.", error.Message);
        Assert.Equal(["false"], error.StripeResponse.Headers.GetValues("Stripe-Should-Retry"));
        Assert.Equal(1, stripe.DuplicatesRejected);
        Assert.Equal(10, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Identifier_can_be_used_again_once_24_hours_have_passed()
    {
        var clock = Clock();
        var (stripe, customer) = await StartWithMeterAsync(new FakeStripeOptions { TimeProvider = clock });
        await using var _ = stripe;
        var client = stripe.CreateClient();
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "reused", clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromHours(23));
        await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "reused", clock.GetUtcNow())));

        clock.Advance(TimeSpan.FromHours(1));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, "reused", clock.GetUtcNow()));

        Assert.Equal(2, stripe.TotalFor(customer, EventName));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("12,0")]
    [InlineData("ten")]
    public async Task Meter_event_value_must_be_a_whole_number(string value)
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;

        var error = await Assert.ThrowsAsync<StripeException>(
            () => stripe.CreateClient().V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, value)));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("payload[value]", error.StripeError.Param);
        Assert.Equal("meter_event_invalid_value", error.StripeError.Code);
        Assert.Contains("must be a whole number", error.StripeError.Message, StringComparison.Ordinal);
        Assert.Empty(stripe.AcceptedEvents);
    }

    [Theory]
    [InlineData(-35 * 24 * 60 - 1, "timestamp_too_far_in_past")]
    [InlineData(6, "timestamp_in_future")]
    public async Task Meter_event_timestamp_outside_35_days_back_or_5_minutes_ahead_is_refused_as_not_worth_retrying(int offsetMinutes, string code)
    {
        var clock = Clock();
        var (stripe, customer) = await StartWithMeterAsync(new FakeStripeOptions { TimeProvider = clock });
        await using var _ = stripe;
        var client = stripe.CreateClient();

        var error = await Assert.ThrowsAsync<StripeException>(
            () => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, timestamp: clock.GetUtcNow().AddMinutes(offsetMinutes))));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 1, timestamp: clock.GetUtcNow().AddMinutes(offsetMinutes > 0 ? 4 : -34 * 24 * 60)));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("timestamp", error.StripeError.Param);
        Assert.Equal(code, error.StripeError.Code);
        Assert.Equal(["false"], error.StripeResponse.Headers.GetValues("Stripe-Should-Retry"));
        Assert.Single(stripe.AcceptedEvents);
    }

    [Fact]
    public async Task Meter_event_for_an_unknown_customer_or_event_name_is_refused()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();

        var noCustomer = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent("cus_nobody", 1)));
        var noMeter = await Assert.ThrowsAsync<StripeException>(
            () => client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, "1", eventName: "unknown_meter")));

        Assert.Equal(("meter_event_customer_not_found", "payload[stripe_customer_id]"), (noCustomer.StripeError.Code, noCustomer.StripeError.Param));
        Assert.Equal(("no_meter", "event_name"), (noMeter.StripeError.Code, noMeter.StripeError.Param));
    }

    [Fact]
    public async Task Event_summaries_aggregate_by_day_newest_first()
    {
        var clock = Clock();
        var (stripe, customer) = await StartWithMeterAsync(new FakeStripeOptions { TimeProvider = clock });
        await using var _ = stripe;
        var client = stripe.CreateClient();
        var today = new DateTimeOffset(clock.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero);
        var yesterday = today.AddDays(-1);
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 5, timestamp: yesterday.AddHours(9)));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 7, timestamp: today.AddSeconds(-1)));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 3, timestamp: today));
        var meterId = Assert.Single(stripe.Meters).Id;

        var daily = await client.V1.Billing.Meters.EventSummaries.ListAsync(meterId, new MeterEventSummaryListOptions
        {
            Customer = customer,
            StartTime = yesterday.UtcDateTime,
            EndTime = today.AddDays(1).UtcDateTime,
            ValueGroupingWindow = "day",
        });
        var whole = await client.V1.Billing.Meters.EventSummaries.ListAsync(meterId, new MeterEventSummaryListOptions
        {
            Customer = customer,
            StartTime = yesterday.UtcDateTime,
            EndTime = today.AddDays(1).UtcDateTime,
        });

        Assert.Equal([(today.UtcDateTime, 3m), (yesterday.UtcDateTime, 12m)], daily.Data.Select(s => (s.StartTime, s.AggregatedValue)));
        Assert.All(daily.Data, s => Assert.Equal(("billing.meter_event_summary", meterId, TimeSpan.FromDays(1)), (s.Object, s.Meter, s.EndTime - s.StartTime)));
        Assert.Equal(15m, Assert.Single(whole.Data).AggregatedValue);
        Assert.Equal(12m, stripe.SummaryFor(customer, EventName, yesterday, today));
    }

    [Theory]
    [InlineData("hour", 30 * 60, 0)]
    [InlineData("day", 3600, 0)]
    [InlineData(null, 30, 0)]
    [InlineData("day", 0, 3600)]
    public async Task Event_summary_times_must_align_to_the_grouping_window(string? window, int startOffsetSeconds, int endOffsetSeconds)
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var midnight = DateTime.UtcNow.Date;

        var error = await Assert.ThrowsAsync<StripeException>(() => stripe.CreateClient().V1.Billing.Meters.EventSummaries.ListAsync(
            Assert.Single(stripe.Meters).Id,
            new MeterEventSummaryListOptions
            {
                Customer = customer,
                StartTime = midnight.AddDays(-1).AddSeconds(startOffsetSeconds),
                EndTime = midnight.AddSeconds(endOffsetSeconds),
                ValueGroupingWindow = window,
            }));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Contains("must be aligned with", error.StripeError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_adjustment_removes_the_events_value_from_summaries()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 40, "keep"));
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 2, "drop"));
        var cancel = new MeterEventAdjustmentCreateOptions
        {
            EventName = EventName,
            Type = "cancel",
            Cancel = new MeterEventAdjustmentCancelOptions { Identifier = "drop" },
        };

        var adjustment = await client.V1.Billing.MeterEventAdjustments.CreateAsync(cancel);
        var again = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEventAdjustments.CreateAsync(cancel));
        var unknown = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEventAdjustments.CreateAsync(
            new MeterEventAdjustmentCreateOptions { EventName = EventName, Type = "cancel", Cancel = new() { Identifier = "never-sent" } }));

        Assert.Equal(("billing.meter_event_adjustment", "cancel", "drop"), (adjustment.Object, adjustment.Type, adjustment.Cancel.Identifier));
        Assert.Equal(40, stripe.TotalFor(customer, EventName));
        Assert.True(stripe.FindEvent("drop")!.Cancelled);
        Assert.Equal(HttpStatusCode.BadRequest, again.HttpStatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.HttpStatusCode);
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(40m, stripe.SummaryFor(customer, EventName, now.AddHours(-1), now.AddHours(1)));
    }

    [Fact]
    public async Task Cancel_adjustment_is_refused_after_24_hours()
    {
        var clock = Clock();
        var (stripe, customer) = await StartWithMeterAsync(new FakeStripeOptions { TimeProvider = clock });
        await using var _ = stripe;
        var client = stripe.CreateClient();
        await client.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customer, 2, "old", clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<StripeException>(() => client.V1.Billing.MeterEventAdjustments.CreateAsync(
            new MeterEventAdjustmentCreateOptions { EventName = EventName, Type = "cancel", Cancel = new() { Identifier = "old" } }));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Contains("within 24 hours", error.StripeError.Message, StringComparison.Ordinal);
        Assert.Equal(2, stripe.TotalFor(customer, EventName));
    }

    [Fact]
    public async Task Wrong_api_key_is_401_invalid_api_key()
    {
        await using var stripe = await FakeStripeServer.StartAsync();

        var error = await Assert.ThrowsAsync<StripeException>(
            () => stripe.CreateClient(apiKey: "sk_test_wrong0000000000001234").V1.Billing.Meters.ListAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, error.HttpStatusCode);
        Assert.Equal("invalid_request_error", error.StripeError.Type);
        Assert.Equal("Invalid API Key provided: sk_test_*****************1234", error.StripeError.Message);
        Assert.Equal(1, stripe.CallCount(StripeEndpoint.Meters));
    }

    [Fact]
    public async Task Stripe_net_sends_the_pinned_api_version_and_another_is_refused()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var client = stripe.CreateClient();

        var meters = await client.V1.Billing.Meters.ListAsync();
        var error = await Assert.ThrowsAsync<StripeException>(() => client.RawRequestAsync(HttpMethod.Get, "/v1/billing/meters", null,
            new RawRequestOptions { AdditionalHeaders = { ["Stripe-Version"] = "2025-03-31.basil" } }));

        Assert.Equal("2026-10-28.endive", StripeConfiguration.ApiVersion);
        Assert.Equal(StripeConfiguration.ApiVersion, stripe.Options.ApiVersion);
        Assert.Empty(meters.Data);
        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("Invalid Stripe API version: 2025-03-31.basil", error.StripeError.Message);
    }

    [Fact]
    public async Task Same_idempotency_key_and_parameters_replay_the_first_answer()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var client = stripe.CreateClient();
        var options = new CustomerCreateOptions { Name = "Once" };

        var first = await client.V1.Customers.CreateAsync(options, new RequestOptions { IdempotencyKey = "create-once" });
        var second = await client.V1.Customers.CreateAsync(options, new RequestOptions { IdempotencyKey = "create-once" });

        Assert.Equal(first.Id, second.Id);
        Assert.Single(stripe.Customers);
        Assert.Equal(1, stripe.IdempotentReplays);
        Assert.Equal(["true"], second.StripeResponse.Headers.GetValues("Idempotent-Replayed"));
        Assert.Equal("create-once", second.StripeResponse.IdempotencyKey);
    }

    [Fact]
    public async Task Same_idempotency_key_with_other_parameters_is_an_idempotency_error()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var client = stripe.CreateClient();
        await client.V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "A" }, new RequestOptions { IdempotencyKey = "k" });

        var error = await Assert.ThrowsAsync<StripeException>(
            () => client.V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "B" }, new RequestOptions { IdempotencyKey = "k" }));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("idempotency_error", error.StripeError.Type);
        Assert.Single(stripe.Customers);
    }

    [Fact]
    public async Task Idempotency_key_still_executing_is_409_which_stripe_net_would_retry()
    {
        await using var stripe = await FakeStripeServer.StartAsync();
        var client = stripe.CreateClient();
        var options = new CustomerCreateOptions { Name = "Slowpoke" };
        var key = new RequestOptions { IdempotencyKey = "in-flight" };
        var pause = stripe.PauseNext(StripeEndpoint.Customers);

        var first = client.V1.Customers.CreateAsync(options, key);
        await pause.Arrived.WaitAsync(TimeSpan.FromSeconds(10));
        var conflict = await Assert.ThrowsAsync<StripeException>(() => client.V1.Customers.CreateAsync(options, key));
        pause.Release();
        var created = await first;
        var replayed = await client.V1.Customers.CreateAsync(options, key);

        Assert.Equal(HttpStatusCode.Conflict, conflict.HttpStatusCode);
        Assert.Equal("idempotency_error", conflict.StripeError.Type);
        Assert.Equal(created.Id, replayed.Id);
        Assert.Single(stripe.Customers);
    }

    [Fact]
    public async Task Resending_a_meter_event_with_its_idempotency_key_replays_success_instead_of_the_duplicate_error()
    {
        var (stripe, customer) = await StartWithMeterAsync();
        await using var _ = stripe;
        var client = stripe.CreateClient();
        var options = MeterEvent(customer, 9, "bucket-9");
        var key = new RequestOptions { IdempotencyKey = "export-bucket-9" };

        await client.V1.Billing.MeterEvents.CreateAsync(options, key);
        var replayed = await client.V1.Billing.MeterEvents.CreateAsync(options, key);

        Assert.Equal("bucket-9", replayed.Identifier);
        Assert.Equal(0, stripe.DuplicatesRejected);
        Assert.Equal(9, stripe.TotalFor(customer, EventName));
    }
}
