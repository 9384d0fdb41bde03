using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Metering;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>Three instances on one PostgreSQL behave as one service: budgets, idempotency and revocation hold across them.</summary>
public sealed class FleetTests(Fleet fleet) : IClassFixture<Fleet>
{
    private const string Question = """{"model":"demo","temperature":0,"max_tokens":8,"messages":[{"role":"user","content":"Tell me about the river."}]}""";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Fifty_concurrent_requests_over_three_instances_never_overspend_a_budget_that_fits_ten()
    {
        var (key, _) = await fleet.CreateKeyAsync("fleet-budget");

        // One request's worst case (its reservation) is its prompt plus max_tokens; the budget holds ten of them.
        using var probe = fleet.Hosts[0].CreateClient(key);
        using var first = await probe.PostAsync("/v1/chat/completions", Json(Question));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        long perRequest = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage").GetProperty("prompt_tokens").GetInt64() + 8;
        long cap = (perRequest * 11) - 1;
        using (var admin = fleet.Hosts[1].CreateClient(fleet.AdminKey))
        {
            using var set = await admin.PostAsJsonAsync("/v1/admin/limits", new { scope = "customer", id = "fleet-budget", token_cap = cap });
            Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());
        }

        var clients = fleet.Hosts.Select(h => h.CreateClient(key)).ToList();
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var response = await clients[i % Fleet.Size].PostAsync("/v1/chat/completions", Json(Question));
            return (response.StatusCode, Body: await response.Content.ReadFromJsonAsync<JsonElement>());
        }));
        clients.ForEach(c => c.Dispose());

        var accepted = answers.Where(a => a.StatusCode == HttpStatusCode.OK).ToList();
        var refused = answers.Where(a => a.StatusCode != HttpStatusCode.OK).ToList();
        Assert.All(refused, r => Assert.Equal("insufficient_quota", r.Body.GetProperty("error").GetProperty("code").GetString()));
        Assert.InRange(accepted.Count, 1, 10);
        Assert.All(accepted, a => Assert.Equal(8, a.Body.GetProperty("usage").GetProperty("completion_tokens").GetInt32()));

        await using var db = fleet.Database();
        var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == "fleet-budget").ToListAsync();
        long spent = records.Sum(r => r.PromptTokens + r.CompletionTokens);
        Assert.True(spent <= cap, $"spent {spent} tokens of a {cap} budget");
        Assert.Equal(accepted.Count + 1, records.Count(r => r.Outcome == UsageOutcome.Length));
        Assert.Empty(await db.Set<Reservation>().AsNoTracking().Where(r => r.CustomerId == "fleet-budget").ToListAsync());
    }

    [Fact]
    public async Task A_per_minute_request_limit_holds_exactly_across_three_instances()
    {
        var (key, id) = await fleet.CreateKeyAsync("fleet-rate");
        using (var admin = fleet.Hosts[2].CreateClient(fleet.AdminKey))
        {
            using var set = await admin.PostAsJsonAsync("/v1/admin/limits", new { scope = "key", id, requests_per_minute = 10 });
            Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());
        }

        // The windows are whole UTC minutes in the shared ledger, counted in the same transaction that admits: no
        // tolerance within a window. A burst that crosses a minute boundary meets two windows (up to twice the limit).
        var clients = fleet.Hosts.Select(h => h.CreateClient(key)).ToList();
        var started = DateTimeOffset.UtcNow;
        var statuses = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            using var response = await clients[i % Fleet.Size].GetAsync("/v1/models");
            return response.StatusCode;
        }));
        var ended = DateTimeOffset.UtcNow;
        clients.ForEach(c => c.Dispose());

        int accepted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.All(statuses, s => Assert.Contains(s, (HttpStatusCode[])[HttpStatusCode.OK, HttpStatusCode.TooManyRequests]));
        bool oneWindow = started.ToUnixTimeSeconds() / 60 == ended.ToUnixTimeSeconds() / 60;
        if (oneWindow)
        {
            Assert.Equal(10, accepted);
        }
        else
        {
            Assert.InRange(accepted, 10, 20);
        }
    }

    [Fact]
    public async Task A_retry_on_another_instance_replays_the_stored_answer_and_is_billed_once()
    {
        var (key, _) = await fleet.CreateKeyAsync("fleet-idem");
        string idempotencyKey = "fleet-" + Guid.NewGuid().ToString("N");

        async Task<(HttpResponseMessage Response, string Body)> SendAsync(int host)
        {
            using var client = fleet.Hosts[host].CreateClient(key);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Question) };
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            var response = await client.SendAsync(request);
            return (response, await response.Content.ReadAsStringAsync());
        }

        var (original, body) = await SendAsync(0);
        var (retry, replayed) = await SendAsync(2);

        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("x-idempotent-replay").Single());
        Assert.Equal(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString(), JsonDocument.Parse(replayed).RootElement.GetProperty("id").GetString());
        await using var db = fleet.Database();
        Assert.Equal(1, await db.Set<UsageRecord>().CountAsync(r => r.CustomerId == "fleet-idem"));
    }

    [Fact]
    public async Task A_duplicate_sent_to_another_instance_while_the_first_still_generates_is_a_409()
    {
        var (key, _) = await fleet.CreateKeyAsync("fleet-dup");
        string idempotencyKey = "fleet-dup-" + Guid.NewGuid().ToString("N");
        const string Long = """{"model":"demo","temperature":0,"max_tokens":1500,"stream":true,"messages":[{"role":"user","content":"Tell me about the river."}]}""";

        using var first = fleet.Hosts[0].CreateClient(key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Long) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var stream = await first.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);

        // The first request is admitted and generating: its claim on the key is in the shared ledger.
        using var second = fleet.Hosts[1].CreateClient(key);
        using var duplicate = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json(Long) };
        duplicate.Headers.Add("Idempotency-Key", idempotencyKey);
        using var conflict = await second.SendAsync(duplicate);

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("idempotency_key_conflict", (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_key_revoked_through_one_instance_is_refused_by_the_others_within_the_key_cache_ttl()
    {
        var (key, id) = await fleet.CreateKeyAsync("fleet-revoke");
        var clients = fleet.Hosts.Select(h => h.CreateClient(key)).ToList();
        foreach (var client in clients)
        {
            // Every instance has verified (and cached) the key.
            using var models = await client.GetAsync("/v1/models");
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        }

        using (var admin = fleet.Hosts[0].CreateClient(fleet.AdminKey))
        {
            using var revoke = await admin.DeleteAsync($"/v1/admin/keys/{id}");
            Assert.True(revoke.IsSuccessStatusCode, await revoke.Content.ReadAsStringAsync());
        }

        var revokedAt = Stopwatch.StartNew();
        var refusedAfter = new TimeSpan[Fleet.Size];
        for (int i = 1; i < Fleet.Size; i++)
        {
            while (true)
            {
                using var models = await clients[i].GetAsync("/v1/models");
                if (models.StatusCode == HttpStatusCode.Unauthorized)
                {
                    refusedAfter[i] = revokedAt.Elapsed;
                    break;
                }

                Assert.True(revokedAt.Elapsed < Fleet.KeyCacheTtl * 3, $"instance {i} still accepts the key {revokedAt.Elapsed} after revocation");
                await Task.Delay(100);
            }
        }

        clients.ForEach(c => c.Dispose());
        Assert.All(refusedAfter.Skip(1), t => Assert.True(t <= Fleet.KeyCacheTtl + TimeSpan.FromSeconds(1), $"refused only after {t}"));
    }

    [Fact]
    public async Task The_overview_from_any_instance_and_the_status_command_show_every_instance_with_its_model_and_todays_usage()
    {
        var (key, _) = await fleet.CreateKeyAsync("fleet-overview");
        for (int i = 0; i < Fleet.Size; i++)
        {
            using var client = fleet.Hosts[i].CreateClient(key);
            using var answer = await client.PostAsync("/v1/chat/completions", Json(Question));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        // Each instance reports its loaded model at its next heartbeat (every second here).
        using var admin = fleet.Hosts[1].CreateClient(fleet.AdminKey);
        JsonElement overview = default;
        List<JsonElement> ours = [];
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var response = await admin.GetAsync("/v1/admin/overview");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            overview = await response.Content.ReadFromJsonAsync<JsonElement>();
            ours = [.. overview.GetProperty("instances").EnumerateArray()
                .Where(i => Enumerable.Range(0, Fleet.Size).Any(h => i.GetProperty("id").GetString()!.StartsWith(fleet.InstancePrefix(h), StringComparison.Ordinal)))];
            if (ours.Count == Fleet.Size && ours.All(i => i.GetProperty("models_loaded").ValueKind == JsonValueKind.Array
                && i.GetProperty("models_loaded").EnumerateArray().Any(m => m.GetString() == "demo")))
            {
                break;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"the overview never showed three instances with the demo model loaded:\n{overview}");
            await Task.Delay(200);
        }

        Assert.Equal("admin.overview", overview.GetProperty("object").GetString());
        Assert.All(ours, i =>
        {
            Assert.True(i.GetProperty("alive").GetBoolean());
            Assert.InRange(i.GetProperty("heartbeat_age_seconds").GetDouble(), 0, 10);
            Assert.Equal(8, i.GetProperty("slots").GetInt32());
            Assert.Equal(0, i.GetProperty("queued").GetInt32());
        });

        // Today's row for the customer is the ledger's, to the token and the micro-dollar.
        long since = overview.GetProperty("today").GetProperty("start").GetInt64();
        await using var db = fleet.Database();
        var records = (await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == "fleet-overview").ToListAsync())
            .Where(r => r.EndedAt >= DateTimeOffset.FromUnixTimeSeconds(since)).ToList();
        var row = Assert.Single(overview.GetProperty("today").GetProperty("customers").EnumerateArray(), c => c.GetProperty("customer").GetString() == "fleet-overview");
        Assert.Equal(records.Count, row.GetProperty("requests").GetInt64());
        Assert.Equal(records.Sum(r => r.PromptTokens), row.GetProperty("input_tokens").GetInt64());
        Assert.Equal(records.Sum(r => r.CompletionTokens), row.GetProperty("output_tokens").GetInt64());
        Assert.Equal(records.Sum(r => r.CostMicroUsd), row.GetProperty("revenue_micro_usd").GetInt64());

        // An API key is not the admin key.
        using var customer = fleet.Hosts[0].CreateClient(key);
        using var refused = await customer.GetAsync("/v1/admin/overview");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        // ./run.sh status prints the same as tables.
        var status = await fleet.Hosts[2].RunCommandAsync("status");
        Assert.True(status.ExitCode == 0, status.Output);
        for (int h = 0; h < Fleet.Size; h++)
        {
            Assert.Contains(fleet.InstancePrefix(h), status.Output, StringComparison.Ordinal);
        }

        Assert.Matches($@"fleet-overview\s+{records.Count}\s+{records.Sum(r => r.PromptTokens)}\s+{records.Sum(r => r.CompletionTokens)}\s", status.Output);
    }
}
