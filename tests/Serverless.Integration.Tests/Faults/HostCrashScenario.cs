using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Faults;

/// <summary>
/// Runs once for <see cref="HostCrashTests"/>: the local host as a child process over its own SQLite file and
/// Azurite; some requests complete; then 20 streams are generating when the host gets SIGKILL (no shutdown code
/// runs); the host starts again over the same database; once its sweeper has settled the dead instance's
/// reservations, a new request and an idempotent retry of an interrupted stream are made. The tests then compare
/// what the clients saw with the ledger.
/// </summary>
public sealed class HostCrashScenario : IAsyncLifetime
{
    public const string Prompt = "The old house by the river";
    public const int InFlightStreams = 20;

    // Greedy decoding of the demo model never ends the text, so these run until killed: at ~100-300 tokens/s per
    // stream with 20 at once on 2 cores, many seconds, while all 20 have their first chunk well within one.
    public const int LongMaxTokens = 2000;

    private static readonly TimeSpan ConditionTimeout = TimeSpan.FromSeconds(60);

    // Well under Metering:DeadInstanceAfter (60 s): the dead process must be recognised at once, not by its silence.
    private static readonly TimeSpan SweepTimeout = TimeSpan.FromSeconds(30);

    private readonly CrashHost _host = new("svl-crash", new Dictionary<string, string?>
    {
        // Every stream must be generating at the kill, none waiting in line for a slot.
        ["Inference:MaxConcurrentGenerations"] = "32",
        ["Inference:MaxConcurrentPerCustomer"] = "32",
    });

    /// <summary>Requests the client saw complete before the crash (whole responses and streams read to [DONE]).</summary>
    public IReadOnlyList<ClientUsage> CompletedBeforeCrash { get; private set; } = [];

    /// <summary>The streams that were generating at the kill, as their clients saw them end.</summary>
    public IReadOnlyList<ClientStream> Interrupted { get; private set; } = [];

    /// <summary>A whole response from the restarted host.</summary>
    public ClientUsage CompletedAfterRestart { get; private set; } = null!;

    /// <summary>The Idempotency-Key the first interrupted stream carried.</summary>
    public string IdempotencyKey { get; } = "crash-" + Guid.NewGuid().ToString("N");

    /// <summary>The same request with the same key, sent again after the restart.</summary>
    public ClientStream IdempotentRetry { get; private set; } = null!;

    public int CrashedProcessId => _host.CrashedProcessId;

    public int RestartedProcessId => _host.RestartedProcessId;

    /// <summary>From the restarted host answering /health to no reservation being left.</summary>
    public TimeSpan SweepTime { get; private set; }

    /// <summary>What happened when, and everything the host printed: for failure messages.</summary>
    public string Report => _host.Report;

    public static string Body(int maxTokens, bool stream) =>
        JsonSerializer.Serialize(stream
            ? new Dictionary<string, object> { ["model"] = "demo", ["prompt"] = Prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = true, ["stream_options"] = new Dictionary<string, object> { ["include_usage"] = true } }
            : new Dictionary<string, object> { ["model"] = "demo", ["prompt"] = Prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0 });

    /// <summary>A context on the host's database, read by the tests while the restarted host runs.</summary>
    public ServerlessDbContext Database() => _host.Database();

    public async Task InitializeAsync()
    {
        await _host.StartAsync();
        using var client = _host.CreateClient();

        await CompleteBeforeCrashAsync(client);
        await CrashWithStreamsInFlightAsync(client);

        await _host.RestartAsync();
        var sweep = Stopwatch.StartNew();
        await _host.UntilAsync(async db => !await db.Set<Reservation>().AnyAsync(), SweepTimeout, "the restarted host to settle every open reservation", TimeSpan.FromMilliseconds(100));
        SweepTime = sweep.Elapsed;
        _host.Log("no reservation left");

        CompletedAfterRestart = await CompleteWholeAsync(client, 6);
        IdempotentRetry = await ClientStream.RunAsync(client, Body(LongMaxTokens, stream: true), NewSignal(), IdempotencyKey);
        _host.Log("new request and idempotent retry done");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static async Task<ClientUsage> CompleteWholeAsync(HttpClient client, int maxTokens)
    {
        using var response = await client.PostJsonAsync("/v1/completions", Body(maxTokens, stream: false));
        var body = await response.ReadJsonAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Completion failed ({(int)response.StatusCode}): {body}");
        }

        return ClientUsage.From(response.Headers.GetValues("x-request-id").Single(), body.GetProperty("usage"), body.GetProperty("choices")[0].GetProperty("finish_reason").GetString()!);
    }

    private async Task CompleteBeforeCrashAsync(HttpClient client)
    {
        var completed = new List<ClientUsage>();
        foreach (int maxTokens in new[] { 5, 8, 13 })
        {
            completed.Add(await CompleteWholeAsync(client, maxTokens));
        }

        foreach (int maxTokens in new[] { 4, 7, 10 })
        {
            var stream = await ClientStream.RunAsync(client, Body(maxTokens, stream: true), NewSignal());
            completed.Add(stream is { SawDone: true, Usage: { } usage } ? usage : throw new InvalidOperationException($"A short stream did not finish: {stream.Failure}"));
        }

        CompletedBeforeCrash = completed;
        _host.Log($"{completed.Count} requests completed");
    }

    private async Task CrashWithStreamsInFlightAsync(HttpClient client)
    {
        var firstContent = Enumerable.Range(0, InFlightStreams).Select(_ => NewSignal()).ToArray();
        var streams = firstContent
            .Select((signal, i) => ClientStream.RunAsync(client, Body(LongMaxTokens, stream: true), signal, i == 0 ? IdempotencyKey : null))
            .ToArray();
        await _host.WithinAsync(Task.WhenAll(firstContent.Select(s => s.Task)), ConditionTimeout, "every stream to receive its first content chunk");
        _host.Log($"{InFlightStreams} streams generating");

        _host.Kill();
        Interrupted = await _host.WithinAsync(Task.WhenAll(streams), ConditionTimeout, "the client streams to end");
        _host.Log($"client streams ended after {Interrupted.Sum(s => s.ContentChunks).ToString(CultureInfo.InvariantCulture)} content chunks in all");
    }
}
