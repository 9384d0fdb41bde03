using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>The ledger's behaviour, on both providers.</summary>
public abstract class MeteringTests(ServiceFixture service)
{
    [Collection(ServiceTestGroup.Name)]
    public sealed class Sqlite(ServiceFixture service) : MeteringTests(service);

    [Collection(PostgresServiceTestGroup.Name)]
    public sealed class Postgres(PostgresServiceFixture service) : MeteringTests(service);

    private static string Completion(int maxTokens, bool stream = false, string prompt = "The old house by the river") =>
        $$"""{"model":"demo","prompt":"{{prompt}}","max_tokens":{{maxTokens}},"temperature":0,"stream":{{(stream ? "true" : "false")}}{{(stream ? ",\"stream_options\":{\"include_usage\":true}" : "")}}}""";

    protected async Task<UsageRecord> RecordOf(string requestId)
    {
        await using var db = service.Database();
        return await db.Set<UsageRecord>().SingleAsync(r => r.RequestId == requestId);
    }

    private static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-request-id").Single();

    private static long ExpectedCost(long prompt, long completion) =>
        CostCalculator.CostMicroUsd(prompt, completion, ServiceFixture.InputPrice, ServiceFixture.OutputPrice);

    [Fact]
    public async Task A_whole_response_has_exactly_one_usage_record_with_the_tokens_and_cost_the_client_saw()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", Completion(9));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = (await response.ReadJsonAsync()).GetProperty("usage");

        var record = await RecordOf(RequestId(response));
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64(), record.PromptTokens);
        Assert.Equal(9, record.CompletionTokens);
        Assert.Equal(UsageOutcome.Length, record.Outcome);
        Assert.Equal(ExpectedCost(record.PromptTokens, 9), record.CostMicroUsd);
        Assert.True(record.PriceVersion > 0);
        Assert.Equal("acme", record.CustomerId);
        await using var db = service.Database();
        Assert.False(await db.Set<Reservation>().AnyAsync(r => r.RequestId == record.RequestId));
    }

    [Fact]
    public async Task A_whole_response_says_how_long_it_waited_on_the_ledger()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", Completion(2));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        string timing = response.Headers.GetValues("Server-Timing").Single();
        Assert.StartsWith("ledger;dur=", timing, StringComparison.Ordinal);
        double milliseconds = double.Parse(timing["ledger;dur=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        // Two commits (admission and settlement) took some time, and no more than the whole request.
        Assert.InRange(milliseconds, 0.001, double.Parse(response.Headers.GetValues("openai-processing-ms").Single(), System.Globalization.CultureInfo.InvariantCulture) + 1);
    }

    [Fact]
    public async Task A_stream_is_recorded_before_done_and_its_usage_chunk_carries_a_verifiable_receipt()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", Completion(12, stream: true));
        var events = await response.ReadEventsAsync();
        Assert.Equal("[DONE]", events[^1]);
        var usageChunk = JsonDocument.Parse(events[^2]).RootElement;
        var record = await RecordOf(RequestId(response));
        Assert.Equal(usageChunk.GetProperty("usage").GetProperty("completion_tokens").GetInt64(), record.CompletionTokens);

        string receipt = usageChunk.GetProperty("usage_receipt").GetString()!;
        Assert.Contains($"request_id={record.RequestId};", receipt, StringComparison.Ordinal);
        Assert.Contains($"cost_micro_usd={record.CostMicroUsd};", receipt, StringComparison.Ordinal);
        Assert.True(VerifyLikeACustomer(receipt, await ReceiptSecret(client)));
    }

    [Fact]
    public async Task Receipt_header_verifies_with_the_customers_secret_and_fails_when_tampered()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", Completion(3));
        string receipt = response.Headers.GetValues(UsageReceipts.Header).Single();
        string secret = await ReceiptSecret(client);
        Assert.True(VerifyLikeACustomer(receipt, secret));
        Assert.False(VerifyLikeACustomer(receipt.Replace("completion_tokens=3", "completion_tokens=2", StringComparison.Ordinal), secret));

        var other = await service.CreateKeyAsync("receipt-other-co");
        using var otherClient = service.CreateClient(other.Key);
        Assert.False(VerifyLikeACustomer(receipt, await ReceiptSecret(otherClient)));
    }

    [Fact]
    public async Task Every_v1_response_carries_rate_limit_headers_and_the_limit_gives_429_with_retry_after()
    {
        var key = await service.CreateKeyAsync("ratelimited-co");
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Key, key.Info.KeyId, 3, null, null, null, CancellationToken.None);
        using var client = service.CreateClient(key.Key);
        using (var models = await client.GetAsync("/v1/models"))
        {
            Assert.Equal("3", models.Headers.GetValues("x-ratelimit-limit-requests").Single());
            Assert.Equal("2", models.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            Assert.True(models.Headers.Contains("x-ratelimit-reset-requests"));
            Assert.True(models.Headers.Contains("x-ratelimit-limit-tokens"));
            Assert.True(models.Headers.Contains("x-ratelimit-remaining-tokens"));
            Assert.True(models.Headers.Contains("x-ratelimit-reset-tokens"));
        }

        using (var completion = await client.PostJsonAsync("/v1/completions", Completion(2)))
        {
            Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
            Assert.Equal("1", completion.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using (var usage = await client.GetAsync("/v1/usage"))
        {
            Assert.Equal("0", usage.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using var limited = await client.PostJsonAsync("/v1/completions", Completion(2));
        var error = await limited.ReadErrorAsync(429);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("0", limited.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task A_limit_set_between_requests_applies_to_the_next_one_and_its_refusal_leaves_the_windows_as_they_were()
    {
        // The ledger writer keeps limits and windows between transactions; a policy written by another connection
        // must still apply from the next request on.
        var key = await service.CreateKeyAsync("late-limit-co");
        using var client = service.CreateClient(key.Key);
        using (var first = await client.PostJsonAsync("/v1/completions", Completion(2)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var before = await WindowsOf(key.Info.KeyId, "late-limit-co");
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Customer, "late-limit-co", 1, null, null, null, CancellationToken.None);
        using var limited = await client.PostJsonAsync("/v1/completions", Completion(2));
        var error = await limited.ReadErrorAsync(429);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());

        // Refused by the customer's window after fitting the key's: neither window keeps anything of it.
        Assert.Equal(before, await WindowsOf(key.Info.KeyId, "late-limit-co"));
    }

    private async Task<List<string>> WindowsOf(string keyId, string customerId)
    {
        await using var db = service.Database();
        var windows = await db.Set<RateWindow>().AsNoTracking()
            .Where(w => (w.Scope == LimitScope.Key && w.ScopeId == keyId) || (w.Scope == LimitScope.Customer && w.ScopeId == customerId))
            .ToListAsync();
        return windows.Select(w => $"{w.Scope} {w.WindowStart.ToUnixTimeMilliseconds()} {w.Requests} {w.Tokens}").Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task The_sweep_deletes_past_rate_windows_and_expired_idempotency_entries_and_keeps_live_ones()
    {
        var key = await service.CreateKeyAsync("prune-co");
        using var client = service.CreateClient(key.Key);
        using (var live = await client.PostJsonAsync("/v1/completions", Completion(2)))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        var now = DateTimeOffset.UtcNow;
        var options = service.Services.GetRequiredService<IOptions<MeteringOptions>>().Value;
        await using (var db = service.Database())
        {
            var past = MeteringClock.WindowStart(now - options.OrphanReservationAfter - TimeSpan.FromMinutes(2));
            db.Add(new RateWindow { Scope = LimitScope.Key, ScopeId = key.Info.KeyId, WindowStart = past, Requests = 3, Tokens = 30 });
            db.Add(new RateWindow { Scope = LimitScope.Customer, ScopeId = "prune-co", WindowStart = past, Requests = 3, Tokens = 30 });
            db.Add(new IdempotencyEntry { CustomerId = "prune-co", Key = "old", RequestHash = "h", RequestId = "req_old", Result = "{}", CreatedAt = now - options.IdempotencyWindow - TimeSpan.FromMinutes(5) });
            db.Add(new IdempotencyEntry { CustomerId = "prune-co", Key = "recent", RequestHash = "h", RequestId = "req_recent", Result = "{}", CreatedAt = now - TimeSpan.FromMinutes(5) });
            await db.SaveChangesAsync();
        }

        var pruned = await service.Services.GetRequiredService<ReservationSweeper>().PruneAsync();

        Assert.True(pruned.RateWindows >= 2);
        Assert.True(pruned.IdempotencyEntries >= 1);
        await using (var db = service.Database())
        {
            var windows = await db.Set<RateWindow>().AsNoTracking().Where(w => w.ScopeId == key.Info.KeyId || w.ScopeId == "prune-co").ToListAsync();
            Assert.Equal(2, windows.Count); // the live request's key and customer windows
            Assert.All(windows, w => Assert.True(w.WindowStart > now - TimeSpan.FromMinutes(2)));
            var entries = await db.Set<IdempotencyEntry>().AsNoTracking().Where(e => e.CustomerId == "prune-co").Select(e => e.Key).ToListAsync();
            Assert.Equal(["recent"], entries);
        }
    }

    [Fact]
    public async Task Tokens_per_minute_count_prompt_plus_max_tokens_and_refuse_what_does_not_fit()
    {
        var key = await service.CreateKeyAsync("tpm-co");
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Customer, "tpm-co", null, 100, null, null, CancellationToken.None);
        using var client = service.CreateClient(key.Key);
        using (var tooBig = await client.PostJsonAsync("/v1/completions", Completion(200)))
        {
            var error = await tooBig.ReadErrorAsync(429);
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            Assert.Contains("max_tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using var fits = await client.PostJsonAsync("/v1/completions", Completion(20));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        var record = await RecordOf(RequestId(fits));

        // Settlement gives back what was reserved but not used: the window holds the actual tokens.
        await using var db = service.Database();
        var windows = await db.Set<RateWindow>().AsNoTracking().Where(w => w.Scope == LimitScope.Customer && w.ScopeId == "tpm-co").ToListAsync();
        Assert.Equal(record.PromptTokens + record.CompletionTokens, windows.Sum(w => w.Tokens));
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_is_replayed_and_not_billed_again()
    {
        var key = await service.CreateKeyAsync("idem-co");
        using var client = service.CreateClient(key.Key);
        string idempotencyKey = Guid.NewGuid().ToString();
        async Task<HttpResponseMessage> Post(string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = ApiResponses.Json(body) };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            return await client.SendAsync(request);
        }

        using var first = await Post(Completion(6));
        using var second = await Post(Completion(6));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("true", second.Headers.GetValues("x-idempotent-replay").Single());
        var a = await first.ReadJsonAsync();
        var b = await second.ReadJsonAsync();
        Assert.Equal(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        Assert.Equal(a.GetProperty("choices")[0].GetProperty("text").GetString(), b.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(first.Headers.GetValues(UsageReceipts.Header).Single(), second.Headers.GetValues(UsageReceipts.Header).Single());

        await using (var db = service.Database())
        {
            Assert.Equal(1, await db.Set<UsageRecord>().CountAsync(r => r.CustomerId == "idem-co"));
        }

        using var conflict = await Post(Completion(7));
        var error = await conflict.ReadErrorAsync(409);
        Assert.Equal("idempotency_key_conflict", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Usage_api_groups_the_callers_own_records_and_its_totals_match_the_ledger()
    {
        var key = await service.CreateKeyAsync("usage-co");
        var second = await service.CreateKeyAsync("usage-co");
        using var client = service.CreateClient(key.Key);
        using var client2 = service.CreateClient(second.Key);
        for (int i = 0; i < 3; i++)
        {
            (await client.PostJsonAsync("/v1/completions", Completion(4 + i))).Dispose();
        }

        (await client2.PostJsonAsync("/v1/completions", Completion(5).Replace("\"demo\"", "\"local-demo\"", StringComparison.Ordinal))).Dispose();

        await using var db = service.Database();
        var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == "usage-co").ToListAsync();
        foreach (var groupBy in new[] { "day", "model", "key" })
        {
            var report = await (await client.GetAsync($"/v1/usage?group_by={groupBy}")).ReadJsonAsync();
            Assert.Equal("usage-co", report.GetProperty("customer").GetString());
            var total = report.GetProperty("total");
            Assert.Equal(records.Count, total.GetProperty("requests").GetInt64());
            Assert.Equal(records.Sum(r => r.PromptTokens), total.GetProperty("prompt_tokens").GetInt64());
            Assert.Equal(records.Sum(r => r.CompletionTokens), total.GetProperty("completion_tokens").GetInt64());
            Assert.Equal(records.Sum(r => r.CostMicroUsd), total.GetProperty("cost_micro_usd").GetInt64());
            Assert.Equal(total.GetProperty("requests").GetInt64(), report.GetProperty("data").EnumerateArray().Sum(g => g.GetProperty("requests").GetInt64()));
        }

        var byModel = await (await client.GetAsync("/v1/usage?group_by=model")).ReadJsonAsync();
        Assert.Equal(["demo", "local-demo"], byModel.GetProperty("data").EnumerateArray().Select(g => g.GetProperty("group").GetString()));
        var byKey = await (await client.GetAsync("/v1/usage?group_by=key")).ReadJsonAsync();
        Assert.Equal(2, byKey.GetProperty("data").GetArrayLength());

        // Another customer's key sees none of it.
        using var stranger = service.CreateClient();
        var theirs = await (await stranger.GetAsync("/v1/usage?group_by=key")).ReadJsonAsync();
        Assert.DoesNotContain(theirs.GetProperty("data").EnumerateArray(), g => g.GetProperty("group").GetString() == key.Info.KeyId);
        Assert.Equal("acme", theirs.GetProperty("customer").GetString());
    }

    [Theory]
    [InlineData("/v1/usage?start=yesterday", "start")]
    [InlineData("/v1/usage?end=2026-13-45", "end")]
    [InlineData("/v1/usage?start=2026-11-10&end=2026-11-01", "end")]
    [InlineData("/v1/usage?group_by=week", "group_by")]
    [InlineData("/v1/usage?start=-5", "start")]
    public async Task Bad_usage_queries_get_400_naming_the_parameter(string url, string param)
    {
        using var client = service.CreateClient();
        using var response = await client.GetAsync(url);
        Assert.Equal(param, (await response.ReadErrorAsync(400)).GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("/v1/admin/usage?limit=-1", "limit")]
    [InlineData("/v1/admin/usage?format=xml", "format")]
    public async Task Bad_admin_export_queries_get_400(string url, string param)
    {
        using var admin = service.CreateClient(service.AdminKey);
        using var response = await admin.GetAsync(url);
        Assert.Equal(param, (await response.ReadErrorAsync(400)).GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"scope":"key","id":"x","requests_per_minute":-1}""")]
    [InlineData("""{"scope":"team","id":"x"}""")]
    [InlineData("""{"scope":"customer","id":"x","spend_cap_micro_usd":"lots"}""")]
    public async Task Bad_limits_get_400(string body)
    {
        using var admin = service.CreateClient(service.AdminKey);
        using var response = await admin.PostJsonAsync("/v1/admin/limits", body);
        await response.ReadErrorAsync(400);
    }

    [Fact]
    public async Task Admin_export_lists_records_across_customers_as_csv_and_json()
    {
        using var client = service.CreateClient();
        using var made = await client.PostJsonAsync("/v1/completions", Completion(2));
        string requestId = RequestId(made);
        using var admin = service.CreateClient(service.AdminKey);
        string csv = await admin.GetStringAsync("/v1/admin/usage?format=csv");
        Assert.StartsWith("request_id,customer_id,key_id,model,prompt_tokens,completion_tokens", csv, StringComparison.Ordinal);
        Assert.Contains(requestId + ",acme,", csv, StringComparison.Ordinal);
        var json = JsonDocument.Parse(await admin.GetStringAsync("/v1/admin/usage?customer=acme")).RootElement;
        Assert.Contains(json.GetProperty("data").EnumerateArray(), r => r.GetProperty("request_id").GetString() == requestId);
        Assert.All(json.GetProperty("data").EnumerateArray(), r => Assert.Equal("acme", r.GetProperty("customer_id").GetString()));
    }

    [Fact]
    public async Task A_new_price_applies_to_new_requests_and_never_rewrites_recorded_costs()
    {
        var key = await service.CreateKeyAsync("price-co");
        using var client = service.CreateClient(key.Key);
        using var before = await client.PostJsonAsync("/v1/completions", Completion(5).Replace("\"demo\"", "\"local-demo\"", StringComparison.Ordinal));
        var old = await RecordOf(RequestId(before));

        using var admin = service.CreateClient(service.AdminKey);
        using var set = await admin.PostJsonAsync("/v1/admin/prices", """{"model":"local-demo","input_micro_usd_per_million":9000000,"output_micro_usd_per_million":27000000}""");
        Assert.Equal(HttpStatusCode.Created, set.StatusCode);
        long version = (await set.ReadJsonAsync()).GetProperty("version").GetInt64();

        using var after = await client.PostJsonAsync("/v1/completions", Completion(5).Replace("\"demo\"", "\"local-demo\"", StringComparison.Ordinal));
        var fresh = await RecordOf(RequestId(after));
        Assert.Equal(version, fresh.PriceVersion);
        Assert.Equal(CostCalculator.CostMicroUsd(fresh.PromptTokens, fresh.CompletionTokens, 9_000_000, 27_000_000), fresh.CostMicroUsd);

        var unchanged = await RecordOf(old.RequestId);
        Assert.Equal(old.PriceVersion, unchanged.PriceVersion);
        Assert.Equal(old.CostMicroUsd, unchanged.CostMicroUsd);
        Assert.NotEqual(version, old.PriceVersion);
    }

    [Fact]
    public async Task Concurrent_requests_share_ledger_transactions()
    {
        var writer = service.Services.GetRequiredService<LedgerWriter>();
        long commits = writer.Commits;
        long commands = writer.CommandsCommitted;
        using var client = service.CreateClient();
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.GetAsync("/v1/models")));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in responses)
        {
            r.Dispose();
        }

        Assert.True(writer.CommandsCommitted - commands >= 40);
        Assert.True(writer.Commits - commits < writer.CommandsCommitted - commands, $"{writer.Commits - commits} commits for {writer.CommandsCommitted - commands} commands");
    }

    [Fact]
    public async Task Reservations_of_a_dead_instance_are_settled_by_the_sweeper_billing_the_prompt_only()
    {
        var now = DateTimeOffset.UtcNow;
        string requestId = "req_dead_" + Guid.NewGuid().ToString("N");
        await using (var db = service.Database())
        {
            db.Add(new LedgerInstance { InstanceId = "gone-machine:1:dead", Machine = "gone-machine", ProcessId = 1, StartedAt = now.AddHours(-1), LastSeenAt = now.AddMinutes(-10) });
            db.Add(new Reservation
            {
                RequestId = requestId, KeyId = "deadkey", CustomerId = "dead-co", Model = "demo", InstanceId = "gone-machine:1:dead", PriceVersion = 1,
                InputMicroUsdPerMillion = ServiceFixture.InputPrice, OutputMicroUsdPerMillion = ServiceFixture.OutputPrice, PromptTokens = 40, MaxTokens = 100,
                ReservedMicroUsd = ExpectedCost(40, 100), PeriodStart = MeteringClock.PeriodStart(now), WindowStart = MeteringClock.WindowStart(now), StartedAt = now.AddMinutes(-11),
            });
            db.Add(new BudgetUsage { Scope = LimitScope.Customer, ScopeId = "dead-co", PeriodStart = MeteringClock.PeriodStart(now), ReservedMicroUsd = ExpectedCost(40, 100), ReservedTokens = 140 });
            await db.SaveChangesAsync();
        }

        Assert.True(await service.Services.GetRequiredService<ReservationSweeper>().SweepAsync(CancellationToken.None) >= 1);

        var record = await RecordOf(requestId);
        Assert.Equal(UsageOutcome.FailedAfterStart, record.Outcome);
        Assert.Equal(40, record.PromptTokens);
        Assert.Equal(0, record.CompletionTokens);
        Assert.Equal(ExpectedCost(40, 0), record.CostMicroUsd);
        await using var check = service.Database();
        Assert.False(await check.Set<Reservation>().AnyAsync(r => r.RequestId == requestId));
        var budget = await check.Set<BudgetUsage>().AsNoTracking().SingleAsync(b => b.Scope == LimitScope.Customer && b.ScopeId == "dead-co");
        Assert.Equal(0, budget.ReservedMicroUsd);
        Assert.Equal(ExpectedCost(40, 0), budget.SpentMicroUsd);
    }

    internal static async Task<string> ReceiptSecret(HttpClient client) =>
        (await (await client.GetAsync("/v1/usage/receipt_secret")).ReadJsonAsync()).GetProperty("secret").GetString()!;

    // What the README tells customers to do: HMAC-SHA256 of the text before ";signature=" with their secret.
    private static bool VerifyLikeACustomer(string receipt, string secret)
    {
        int at = receipt.LastIndexOf(";signature=", StringComparison.Ordinal);
        var mac = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(receipt[..at])));
        return mac == receipt[(at + ";signature=".Length)..];
    }
}
