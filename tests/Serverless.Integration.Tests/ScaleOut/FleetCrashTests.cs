using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Metering;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>A fleet whose survivors sweep often, so a dead instance's reservations are settled within seconds.</summary>
public sealed class SweepingFleet : Fleet
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan DeadInstanceAfter = TimeSpan.FromSeconds(5);

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Metering:HeartbeatInterval"] = HeartbeatInterval.ToString("c"),
        ["Metering:SweepInterval"] = "00:00:01",
        ["Metering:DeadInstanceAfter"] = DeadInstanceAfter.ToString("c"),
        // The eight streams of one key all generate at once (by default a customer holds half the slots and the rest
        // queue behind 2,000-token streams, long enough on a loaded machine to time out with 429).
        ["Inference:MaxConcurrentPerCustomer"] = "8",
    };
}

/// <summary>
/// An instance SIGKILLed with streams in flight: a surviving instance settles them once, by the stated policy, when
/// the dead one's heartbeat is older than <c>Metering:DeadInstanceAfter</c> (the hosts are separate Azure instances, so
/// no survivor can see the victim's process gone).
/// </summary>
public sealed class FleetCrashTests(SweepingFleet fleet) : IClassFixture<SweepingFleet>
{
    private const int Streams = 8;
    private const string Long = """{"model":"demo","temperature":0,"max_tokens":2000,"stream":true,"messages":[{"role":"user","content":"Tell me about the river."}]}""";

    [Fact]
    public async Task A_killed_instances_streams_are_settled_once_by_a_survivor_after_its_heartbeat_lapses_billing_the_prompt_only()
    {
        var (key, _) = await fleet.CreateKeyAsync("fleet-crash");
        var victim = fleet.Hosts[2];
        string victimPrefix = fleet.InstancePrefix(2);
        using var client = victim.CreateClient(key);

        // Eight long streams at once share the instance's cores, so each takes seconds: they are generating at the kill.
        var streams = (await Task.WhenAll(Enumerable.Range(0, Streams).Select(async _ =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Long, Encoding.UTF8, "application/json") };
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
            return (Response: response, Reader: reader, RequestId: response.Headers.GetValues("x-request-id").Single());
        }))).ToList();

        victim.Kill();
        var killedAt = DateTimeOffset.UtcNow;

        // A survivor finds the victim's heartbeat older than DeadInstanceAfter and settles its reservations at its next sweep.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await using (var db = fleet.Database())
            {
                if (!await db.Set<Reservation>().AnyAsync(r => r.CustomerId == "fleet-crash"))
                {
                    break;
                }
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"reservations still open {waited.Elapsed} after the kill\n{fleet.Output}");
            await Task.Delay(200);
        }

        // Every stream has exactly one record: finished before the kill (by the victim), or interrupted and settled by
        // a survivor as failed after start, billing the prompt only.
        await using var ledger = fleet.Database();
        var records = await ledger.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == "fleet-crash").ToListAsync();
        Assert.Equal(Streams, records.Count);
        int interrupted = 0;
        foreach (var (response, reader, requestId) in streams)
        {
            var record = Assert.Single(records, r => r.RequestId == requestId);
            if (record.Outcome == UsageOutcome.FailedAfterStart)
            {
                interrupted++;
                Assert.True(record.PromptTokens > 0);
                Assert.Equal(0, record.CompletionTokens);
                Assert.True(record.CostMicroUsd > 0, "the prompt of an interrupted request is billed");
                Assert.False(record.InstanceId.StartsWith(victimPrefix, StringComparison.Ordinal), "a survivor settled it");

                // Not before the heartbeat lapsed: the victim's last heartbeat was at most one interval (and a sweep)
                // before the kill.
                Assert.True(
                    record.EndedAt >= killedAt + SweepingFleet.DeadInstanceAfter - (2 * SweepingFleet.HeartbeatInterval),
                    $"settled {record.EndedAt - killedAt} after the kill, before the heartbeat could lapse");
            }
            else
            {
                Assert.Equal(UsageOutcome.Length, record.Outcome);
                Assert.StartsWith(victimPrefix, record.InstanceId, StringComparison.Ordinal);
            }

            reader.Dispose();
            response.Dispose();
        }

        Assert.True(interrupted > 0, "no stream was still generating at the kill");

        // The survivors still serve, and the operator overview shows the victim dead, the others alive.
        using var survivor = fleet.Hosts[0].CreateClient(key);
        using var after = await survivor.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        using var admin = fleet.Hosts[1].CreateClient(fleet.AdminKey);
        var instances = (await admin.GetFromJsonAsync<JsonElement>("/v1/admin/overview")).GetProperty("instances").EnumerateArray().ToList();
        for (int h = 0; h < Fleet.Size; h++)
        {
            var listed = Assert.Single(instances, i => i.GetProperty("id").GetString()!.StartsWith(fleet.InstancePrefix(h), StringComparison.Ordinal));
            Assert.Equal(h != 2, listed.GetProperty("alive").GetBoolean());
        }
    }
}
