using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Inference;
using Serverless.Integration.Tests.Fixtures;
using Xunit.Abstractions;

namespace Serverless.Integration.Tests.Service;

/// <summary>
/// One instance's generation slots shared between customers over real HTTP: a customer flooding the instance with far
/// more concurrent streams than it has slots is held to its share (429 concurrency_limit_exceeded beyond it), and another
/// customer's requests are all served, each within about one generation's time. Times are compared with the flood's own
/// generation time measured in the same run, with generous margins, so a loaded machine slows both sides alike.
/// </summary>
[Collection(FairShareServiceTestGroup.Name)]
public sealed class FairShareTests(FairShareServiceFixture service, ITestOutputHelper output)
{
    // Flood streams of different lengths (1,200 to 1,640 tokens), so the slots they hold do not all free at the same moment,
    // and long enough that none ends while the flood is still being sent on a loaded machine.
    private static int FloodMaxTokens(int i) => 1200 + (40 * (i % 12));

    private const int CalmMaxTokens = 16;
    private const int CalmRequests = 5;

    private static string Stream(int maxTokens) =>
        $$"""{"model":"demo","prompt":"The old house by the river","max_tokens":{{maxTokens}},"temperature":0,"stream":true}""";

    private GenerationGate Gate => service.Services.GetRequiredService<GenerationGate>();

    [Fact]
    public async Task A_flood_from_one_customer_is_held_to_its_share_and_another_customer_is_served_at_once()
    {
        var flood = await service.CreateKeyAsync("flood-solo");
        var calm = await service.CreateKeyAsync("calm-solo");
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        using var floodClient = service.CreateClient(flood.Key);
        const int floodSize = 40;
        var floodRuns = Enumerable.Range(0, floodSize).Select(i => RunAsync(floodClient, Stream(FloodMaxTokens(i)), clock, stop.Token)).ToList();

        // Half the 4 slots run, a quarter of the 64-place queue waits, the rest are refused as this customer's.
        int share = FairShareServiceFixture.Slots / 2, queueShare = 64 / 4;
        // Every flood request has found its place (refused, running, queued, or already done if one ended meanwhile).
        await WaitUntil(() => Refused(floodRuns) + Gate.RunningFor("flood-solo") + Gate.WaitingFor("flood-solo") + Served(floodRuns) == floodSize);
        int served = Served(floodRuns);
        Assert.Equal(share, Gate.RunningFor("flood-solo"));
        Assert.Equal(share, Gate.Running);
        Assert.InRange(Gate.Waiting, queueShare - served, queueShare);
        Assert.Equal(floodSize - share - Gate.Waiting - served, Refused(floodRuns));
        foreach (var refused in floodRuns.Where(r => r.IsCompleted).Select(r => r.Result))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
            Assert.Equal("concurrency_limit_exceeded", refused.Code);
            Assert.Equal("1", refused.RetryAfter);
        }

        var calmRuns = await CalmAsync(calm.Key, "calm-solo", clock);
        await FinishAsync(floodRuns, stop);

        var generation = GenerationTime(floodRuns);
        var waits = calmRuns.Select(r => r.Waited).ToList();
        output.WriteLine(Report("one flooding customer", generation.Median, waits));
        Assert.All(waits, w => Assert.True(w < generation.Median, $"a request of the other customer waited {w.TotalMilliseconds:0} ms; one generation takes {generation.Median.TotalMilliseconds:0} ms"));
    }

    [Fact]
    public async Task With_every_slot_taken_by_flooding_customers_another_customer_gets_the_next_free_slot()
    {
        var floodA = await service.CreateKeyAsync("flood-a");
        var floodB = await service.CreateKeyAsync("flood-b");
        var calm = await service.CreateKeyAsync("calm");
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        using var clientA = service.CreateClient(floodA.Key);
        using var clientB = service.CreateClient(floodB.Key);
        const int floodSize = 30;
        var floodRuns = Enumerable.Range(0, floodSize)
            .SelectMany(i => new[] { RunAsync(clientA, Stream(FloodMaxTokens(i)), clock, stop.Token), RunAsync(clientB, Stream(FloodMaxTokens(i + 6)), clock, stop.Token) })
            .ToList();

        // Every slot is busy and both floods have their queue share waiting.
        await WaitUntil(() => Refused(floodRuns) + Gate.Running + Gate.Waiting - Gate.WaitingFor("calm") + Served(floodRuns) == 2 * floodSize);
        Assert.True(Refused(floodRuns) >= 2 * (floodSize - 2 - 16) - Served(floodRuns), $"{Refused(floodRuns)} flood requests refused");
        Assert.Equal(FairShareServiceFixture.Slots, Gate.Running);
        var calmRuns = await CalmAsync(calm.Key, "calm", clock);
        int floodStillWaiting = Gate.Waiting;
        await FinishAsync(floodRuns, stop);

        var generation = GenerationTime(floodRuns);
        var waits = calmRuns.Select(r => r.Waited).ToList();
        output.WriteLine(Report("two flooding customers", generation.Median, waits) + $"; flood requests still queued after the other customer's last: {floodStillWaiting}");

        // The calm customer never queued behind the floods' queues (16 each, 8 generations' worth on 4 slots): each of its
        // requests waited for about one slot to free, no longer than about one generation, and the floods' queues hardly
        // moved meanwhile (a flood request can slip in between the request's arrival and its place in the queue, or
        // while its stream starts). Queue lengths are read from the gate itself, free of HTTP and ledger delays.
        Assert.True(floodStillWaiting > 0, "the floods' queues drained before the other customer was done: nothing was measured");
        output.WriteLine($"flood requests let in while each request of the other customer waited: {string.Join(", ", calmRuns.Select(r => r.FloodGranted))}; longest flood generation {generation.Longest.TotalMilliseconds:0} ms");
        foreach (var run in calmRuns)
        {
            Assert.True(run.Waited < generation.Longest * 1.5, $"a request of the other customer waited {run.Waited.TotalMilliseconds:0} ms; the longest generation took {generation.Longest.TotalMilliseconds:0} ms");
        }

        Assert.All(calmRuns, r => Assert.True(r.FloodGranted <= 2, $"{r.FloodGranted} flood requests got a slot while a request of the other customer waited"));
    }

    private static int Refused(List<Task<Run>> runs) => runs.Count(r => r.IsCompleted && r.Result.Status == HttpStatusCode.TooManyRequests);

    private static int Served(List<Task<Run>> runs) => runs.Count(r => r.IsCompleted && r.Result.Status == HttpStatusCode.OK);

    // The other customer's requests, one after another: all served (none refused), each stream read to its end.
    // The others' queue is read from the gate when the request is first seen waiting in it (or, if it never waited,
    // when it was sent) and when it is first seen running: the difference is how many of them got a slot meanwhile. A
    // thread of its own watches the gate, so the readings are not late behind the thread pool's busy generations.
    private async Task<List<CalmRun>> CalmAsync(string key, string customer, Stopwatch clock)
    {
        using var client = service.CreateClient(key);
        var runs = new List<CalmRun>();
        for (int i = 0; i < CalmRequests; i++)
        {
            int othersAtArrival = Gate.Waiting, othersAtGrant = -1;
            using var done = new CancellationTokenSource();
            var watcher = new Thread(() =>
            {
                bool seenWaiting = false;
                while (!done.IsCancellationRequested)
                {
                    var (waiting, mine, running) = (Gate.Waiting, Gate.WaitingFor(customer), Gate.RunningFor(customer));
                    if (mine > 0 && !seenWaiting)
                    {
                        seenWaiting = true;
                        othersAtArrival = waiting - mine;
                    }
                    else if (running > 0 && mine == 0)
                    {
                        othersAtGrant = waiting;
                        return;
                    }

                    Thread.Yield();
                }
            }) { IsBackground = true, Name = "fair-share watcher" };
            watcher.Start();
            var run = await RunAsync(client, Stream(CalmMaxTokens), clock, CancellationToken.None);
            await done.CancelAsync();
            watcher.Join();
            Assert.Equal(HttpStatusCode.OK, run.Status);
            Assert.NotNull(run.Ended);
            runs.Add(new CalmRun(run.Waited, othersAtGrant < 0 ? 0 : othersAtArrival - othersAtGrant));
        }

        return runs;
    }

    // Lets a few flood streams end (to measure a generation), then cuts the flood off; every slot and queue place comes back.
    private async Task FinishAsync(List<Task<Run>> floodRuns, CancellationTokenSource stop)
    {
        await WaitUntil(() => floodRuns.Count(r => r.IsCompleted && r.Result.Ended is not null) >= 3);
        await stop.CancelAsync();
        await Task.WhenAll(floodRuns);
        await WaitUntil(() => Gate.Running == 0 && Gate.Waiting == 0);
    }

    // The median and longest time from a flood stream's first bytes to its end: one generation at this load.
    private static (TimeSpan Median, TimeSpan Longest) GenerationTime(List<Task<Run>> floodRuns)
    {
        var durations = floodRuns.Select(r => r.Result).Where(r => r.Ended is not null).Select(r => r.Ended!.Value - r.Started!.Value).Order().ToList();
        Assert.NotEmpty(durations);
        return (durations[durations.Count / 2], durations[^1]);
    }

    private static string Report(string scenario, TimeSpan generation, List<TimeSpan> waits) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{scenario}: one flood generation {generation.TotalMilliseconds:0} ms (median); the other customer's waits for its stream to start: {string.Join(", ", waits.Select(w => w.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))} ms (max {waits.Max().TotalMilliseconds:0} ms)");

    private static async Task<Run> RunAsync(HttpClient client, string body, Stopwatch clock, CancellationToken cancellationToken, Action? started = null)
    {
        var sent = clock.Elapsed;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = ApiResponses.Json(body) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var startedAt = clock.Elapsed;
            started?.Invoke();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var error = await response.ReadErrorAsync((int)response.StatusCode);
                return new Run(response.StatusCode, error.GetProperty("code").GetString(), response.Headers.RetryAfter?.ToString(), sent, startedAt, null);
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            await stream.CopyToAsync(System.IO.Stream.Null, cancellationToken);
            return new Run(response.StatusCode, null, null, sent, startedAt, clock.Elapsed);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or HttpRequestException or IOException)
        {
            return new Run(HttpStatusCode.OK, "cancelled", null, sent, null, null);
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>A request of the customer that does not flood: its wait, and how many flood requests got a slot meanwhile.</summary>
    private sealed record CalmRun(TimeSpan Waited, int FloodGranted);

    /// <summary>One request as the client saw it: sent, response headers (the stream started), end of the body.</summary>
    private sealed record Run(HttpStatusCode Status, string? Code, string? RetryAfter, TimeSpan Sent, TimeSpan? Started, TimeSpan? Ended)
    {
        public TimeSpan Waited => Started!.Value - Sent;
    }
}

/// <summary>The local host with 4 generation slots and the fair-share settings left at their defaults (derived from the slots and the 64-place queue).</summary>
public sealed class FairShareServiceFixture : ServiceFixture
{
    public const int Slots = 4;

    protected override void Configure(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["Inference:MaxConcurrentGenerations"] = Slots.ToString(CultureInfo.InvariantCulture);
        settings["Inference:MaxQueuedRequests"] = "64";
        settings.Remove("Inference:MaxQueuedPerCustomer");
        // Queued flood requests must still be waiting, not timed out, when the test cuts them off on a slow machine.
        settings["Inference:QueueTimeout"] = "00:02:00";
    }
}

[CollectionDefinition(Name)]
public sealed class FairShareServiceTestGroup : ICollectionFixture<FairShareServiceFixture>
{
    public const string Name = "service-fair-share";
}
