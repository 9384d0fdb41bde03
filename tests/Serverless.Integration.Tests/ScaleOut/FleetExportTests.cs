using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Billing;
using Serverless.Core.Metering;
using Serverless.Testing.Stripe;
using Xunit.Abstractions;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>
/// Three instances export the shared ledger's usage to one Stripe: the export lease lets one send at a time, a
/// survivor takes over from a holder killed in the middle of a call, and Stripe ends equal to the ledger to the token.
/// </summary>
public sealed class FleetExportTests(ExportingFleet fleet, ITestOutputHelper output) : IClassFixture<ExportingFleet>
{
    private const string Question = """{"model":"demo","temperature":0,"max_tokens":6,"messages":[{"role":"user","content":"Tell me about the river."}]}""";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>The calls an exporter makes to deliver meter events.</summary>
    private static readonly StripeEndpoint[] Sending = [StripeEndpoint.MeterEvents, StripeEndpoint.MeterEventSession, StripeEndpoint.MeterEventStream];

    [Fact]
    public async Task Three_exporters_send_one_at_a_time_a_survivor_takes_over_from_a_killed_holder_and_stripe_equals_the_ledger()
    {
        var watch = Stopwatch.StartNew();
        var stripe = fleet.Stripe;
        output.WriteLine($"fleet started in {fleet.StartedIn}");
        var meters = await MetersAsync();
        var customers = new List<(string Id, string StripeId, string Key)>();
        for (int i = 0; i < 3; i++)
        {
            string id = $"fleet-export-{i}";
            using var admin = fleet.Hosts[i].CreateClient(fleet.AdminKey);
            using var created = await admin.PostAsJsonAsync("/v1/admin/customers", new { id, name = id });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            string stripeId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("stripe_customer_id").GetString()!;
            customers.Add((id, stripeId, (await fleet.CreateKeyAsync(id)).Key));
        }

        // 1. Traffic over all three instances while all three export, every meter event call slowed so passes last
        //    long enough for the others to try (and be refused) in the middle of them.
        stripe.FailRandomly(1, seed: 17, [StripeFailure.Slow(TimeSpan.FromMilliseconds(100))], StripeEndpoint.MeterEvents);
        await TrafficAsync(customers, requestsEach: 9, hosts: [0, 1, 2]);
        output.WriteLine($"{watch.Elapsed}: first traffic answered");
        await WaitUntilExportedAsync(customers, "the first traffic to be exported");
        stripe.StopFailing();
        var firstSenders = SendersOfAccepted(stripe.Calls);
        output.WriteLine($"{watch.Elapsed}: first traffic exported by hosts {string.Join(", ", firstSenders.Select(k => fleet.StripeKeys.ToList().IndexOf(k)))}");

        // 2. The next meter event call is accepted by Stripe and then hangs: its sender is mid-pass, holding the lease.
        stripe.FailNext(StripeFailure.TimeoutAfterAccept(TimeSpan.FromMinutes(1)), StripeEndpoint.MeterEvents);
        await TrafficAsync(customers, requestsEach: 2, hosts: [0, 1, 2]);
        var hung = await UntilAsync(
            () => stripe.Calls.FirstOrDefault(c => c.Endpoint == StripeEndpoint.MeterEvents && c.IsOpen && c.Accepted.Count > 0),
            "a meter event call to hang after it was accepted");
        int victim = fleet.StripeKeys.ToList().IndexOf(hung.ApiKey!);
        Assert.InRange(victim, 0, Fleet.Size - 1);
        await using (var db = fleet.Database())
        {
            var lease = await db.Set<ExportLease>().AsNoTracking().SingleAsync(l => l.Name == UsageExporter.LeaseName);
            Assert.StartsWith(fleet.InstancePrefix(victim), lease.Holder, StringComparison.Ordinal);
        }

        fleet.Hosts[victim].Kill();
        output.WriteLine($"{watch.Elapsed}: host {victim} killed with {hung.Accepted.Single()} accepted and unanswered");

        // 3. More traffic through the survivors; one of them takes the lease once it runs out, re-sends the hung
        //    bucket (Stripe refuses the identifier as a duplicate, which counts as delivered) and exports the rest.
        int duplicatesBefore = stripe.DuplicatesRejected;
        var survivors = Enumerable.Range(0, Fleet.Size).Where(i => i != victim).ToArray();
        await TrafficAsync(customers, requestsEach: 2, hosts: survivors);
        await WaitUntilExportedAsync(customers, "the survivors to export everything");
        output.WriteLine($"{watch.Elapsed}: all exported");

        // Stripe holds what the ledger holds, to the token, input and output separately.
        await using (var db = fleet.Database())
        {
            foreach (var customer in customers)
            {
                var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == customer.Id).ToListAsync();
                Assert.Equal(13, records.Count);
                Assert.Equal(records.Sum(r => r.PromptTokens), stripe.TotalFor(customer.StripeId, meters.Input));
                Assert.Equal(records.Sum(r => r.CompletionTokens), stripe.TotalFor(customer.StripeId, meters.Output));
                Assert.All(await db.Set<ExportBucket>().AsNoTracking().Where(b => b.CustomerId == customer.Id).ToListAsync(),
                    b => Assert.Equal(ExportStatus.Accepted, b.Status));
            }
        }

        // No identifier accepted twice, and each accepted by exactly one call of one instance.
        var calls = stripe.Calls;
        var accepted = stripe.AcceptedEvents.Where(e => customers.Any(c => c.StripeId == e.CustomerId)).Select(e => e.Identifier).ToList();
        Assert.Equal(accepted.Count, accepted.Distinct().Count());
        var acceptedBy = calls.SelectMany(c => c.Accepted.Select(id => (Id: id, c.ApiKey))).ToList();
        Assert.All(accepted, id => Assert.Single(acceptedBy, a => a.Id == id));

        // The hung identifier came again from a survivor and was refused as a duplicate: delivered once.
        Assert.True(stripe.DuplicatesRejected > duplicatesBefore, "the hung bucket was not sent again");

        // One sender at a time: no call of one instance was open at any moment a call of another was.
        var sends = calls.Where(c => Sending.Contains(c.Endpoint) && c.ApiKey is not null).OrderBy(c => c.Started).ToList();
        Assert.All(sends, c => Assert.False(c.IsOpen, $"a call opened at {c.Started:O} is still open"));
        foreach (var (call, index) in sends.Select((c, i) => (c, i)))
        {
            var overlapping = sends.Skip(index + 1).FirstOrDefault(other => other.ApiKey != call.ApiKey && other.Overlaps(call));
            Assert.True(overlapping is null,
                $"host {Host(call)} sent {call.Started:O}..{call.Ended:O} while host {Host(overlapping)} sent {overlapping?.Started:O}..{overlapping?.Ended:O}");
        }

        Assert.Equal(0, stripe.ConcurrencyRejections);
        Assert.Equal(1, stripe.PeakInFlightPerCustomerAndMeter);

        // The killed holder exported (its hung call was accepted), and so did a survivor.
        var senders = SendersOfAccepted(calls);
        Assert.Contains(hung.ApiKey, senders);
        Assert.Contains(senders, k => k != hung.ApiKey);
        output.WriteLine($"{watch.Elapsed}: {sends.Count} sending calls by {senders.Count} instances, {stripe.DuplicatesRejected} duplicates refused");
    }

    private int Host(FakeStripeCall? call) => call is null ? -1 : fleet.StripeKeys.ToList().IndexOf(call.ApiKey!);

    private static List<string> SendersOfAccepted(IEnumerable<FakeStripeCall> calls) =>
        calls.Where(c => c.Accepted.Count > 0).Select(c => c.ApiKey!).Distinct().ToList();

    private async Task<(string Input, string Output)> MetersAsync()
    {
        await using var db = fleet.Database();
        var meters = await db.Set<BillingMeter>().AsNoTracking().ToDictionaryAsync(m => m.Kind, m => m.EventName);
        return (meters[MeterKind.InputTokens], meters[MeterKind.OutputTokens]);
    }

    /// <summary>Each customer's requests, spread over <paramref name="hosts"/>, a few at a time.</summary>
    private async Task TrafficAsync(List<(string Id, string StripeId, string Key)> customers, int requestsEach, int[] hosts)
    {
        var clients = customers.ToDictionary(c => c.Id, c => hosts.Select(h => fleet.Hosts[h].CreateClient(c.Key)).ToList());
        try
        {
            var work = customers.SelectMany(c => Enumerable.Range(0, requestsEach).Select(i => clients[c.Id][(i + customers.IndexOf(c)) % hosts.Length])).ToList();
            await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (client, token) =>
            {
                using var response = await client.PostAsync("/v1/chat/completions", new StringContent(Question, Encoding.UTF8, "application/json"), token);
                Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(token));
            });
        }
        finally
        {
            foreach (var client in clients.Values.SelectMany(c => c))
            {
                client.Dispose();
            }
        }
    }

    /// <summary>Until the customers' outbox is empty and every bucket of theirs is accepted.</summary>
    private async Task WaitUntilExportedAsync(List<(string Id, string StripeId, string Key)> customers, string what)
    {
        var ids = customers.Select(c => c.Id).ToList();
        await UntilAsync(async () =>
        {
            await using var db = fleet.Database();
            bool done = !await db.Set<ExportQueueItem>().AnyAsync(q => ids.Contains(q.CustomerId))
                && !await db.Set<ExportBucket>().AnyAsync(b => ids.Contains(b.CustomerId) && b.Status != ExportStatus.Accepted);
            return done ? what : null;
        }, what);
    }

    private Task<T> UntilAsync<T>(Func<T?> probe, string what) where T : class => UntilAsync(() => Task.FromResult(probe()), what);

    private Task<T> UntilAsync<T>(Func<Task<T?>> probe, string what) where T : class => fleet.UntilAsync(probe, Deadline, what);
}
