using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>Metering:Enabled=false, the switch the ledger benchmark compares against: requests are served and the ledger is never touched.</summary>
[Collection(UnmeteredServiceTestGroup.Name)]
public sealed class UnmeteredServiceTests(UnmeteredServiceFixture service)
{
    [Fact]
    public async Task With_metering_off_completions_are_served_without_limits_receipts_or_any_ledger_row()
    {
        using var client = service.CreateClient();
        using (var whole = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The old house","max_tokens":3,"temperature":0}"""))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Equal(3, (await whole.ReadJsonAsync()).GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.False(whole.Headers.Contains(UsageReceipts.Header));
            Assert.False(whole.Headers.Contains("Server-Timing"));
            Assert.False(whole.Headers.Contains("x-ratelimit-remaining-requests"));
        }

        using (var stream = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"The old house","max_tokens":3,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"""))
        {
            var events = await stream.ReadEventsAsync();
            Assert.Equal("[DONE]", events[^1]);
            var usageChunk = JsonDocument.Parse(events[^2]).RootElement;
            Assert.Equal(3, usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.False(usageChunk.TryGetProperty("usage_receipt", out _));
        }

        using (var models = await client.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
            Assert.False(models.Headers.Contains("x-ratelimit-remaining-requests"));
        }

        await using var db = service.Database();
        Assert.Equal(0, await db.Set<UsageRecord>().CountAsync());
        Assert.Equal(0, await db.Set<Reservation>().CountAsync());
        Assert.Equal(0, await db.Set<RateWindow>().CountAsync());
    }
}
