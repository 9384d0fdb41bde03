using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
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

    private readonly AzuriteFixture _azurite = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "svl-crash-" + Guid.NewGuid().ToString("N"));
    private readonly Stopwatch _clock = new();
    private readonly List<string> _timeline = [];
    private LocalHostProcess? _host;

    public string ConnectionString => $"Data Source={Path.Combine(_root, "serverless.db")}";

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

    public int CrashedProcessId { get; private set; }

    public int RestartedProcessId { get; private set; }

    /// <summary>From the restarted host answering /health to no reservation being left.</summary>
    public TimeSpan SweepTime { get; private set; }

    /// <summary>What happened when, and everything the host printed: for failure messages.</summary>
    public string Report => string.Join('\n', _timeline) + "\nHost output:\n" + _host?.Output;

    public static string Body(int maxTokens, bool stream) =>
        JsonSerializer.Serialize(stream
            ? new Dictionary<string, object> { ["model"] = "demo", ["prompt"] = Prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = true, ["stream_options"] = new Dictionary<string, object> { ["include_usage"] = true } }
            : new Dictionary<string, object> { ["model"] = "demo", ["prompt"] = Prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0 });

    /// <summary>A context on the host's database, read by the tests while the restarted host runs (WAL: readers do not block it).</summary>
    public ServerlessDbContext Database() =>
        new(new DbContextOptionsBuilder<ServerlessDbContext>().UseSqlite(ConnectionString).Options);

    public async Task InitializeAsync()
    {
        _clock.Start();
        await _azurite.InitializeAsync();
        Directory.CreateDirectory(_root);
        _host = new LocalHostProcess(new Dictionary<string, string?>
        {
            ["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Admin:Key"] = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)),
            ["Database:ConnectionString"] = ConnectionString,
            ["ModelStorage:BlobConnectionString"] = _azurite.ConnectionString,
            ["AzureWebJobsStorage"] = _azurite.ConnectionString,
            ["ModelStorage:CacheDirectory"] = Path.Combine(_root, "cache"),
            // Every stream must be generating at the kill, none waiting in line for a slot.
            ["Inference:MaxConcurrentGenerations"] = "32",
            ["Inference:MaxConcurrentPerCustomer"] = "32",
        });

        // setup migrates, uploads the demo model, prices it and creates a key for customer "dev", as run.sh does.
        string keyFile = Path.Combine(_root, "dev-key");
        var setup = await _host.RunCommandAsync("setup", "--dev-key-file", keyFile);
        if (setup.ExitCode != 0)
        {
            throw new InvalidOperationException($"setup failed ({setup.ExitCode}):\n{setup.Output}");
        }

        await _host.StartAsync();
        CrashedProcessId = _host.ProcessId;
        Log("host started");
        using var client = _host.CreateClient((await File.ReadAllTextAsync(keyFile)).Trim());

        await CompleteBeforeCrashAsync(client);
        await CrashWithStreamsInFlightAsync(client);

        await _host.StartAsync();
        RestartedProcessId = _host.ProcessId;
        Log("host restarted");
        var sweep = Stopwatch.StartNew();
        await UntilAsync(async db => !await db.Set<Reservation>().AnyAsync(), SweepTimeout, "the restarted host to settle every open reservation");
        SweepTime = sweep.Elapsed;
        Log("no reservation left");

        CompletedAfterRestart = await CompleteWholeAsync(client, 6);
        IdempotentRetry = await ClientStream.RunAsync(client, Body(LongMaxTokens, stream: true), NewSignal(), IdempotencyKey);
        Log("new request and idempotent retry done");
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

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
        Log($"{completed.Count} requests completed");
    }

    private async Task CrashWithStreamsInFlightAsync(HttpClient client)
    {
        var firstContent = Enumerable.Range(0, InFlightStreams).Select(_ => NewSignal()).ToArray();
        var streams = firstContent
            .Select((signal, i) => ClientStream.RunAsync(client, Body(LongMaxTokens, stream: true), signal, i == 0 ? IdempotencyKey : null))
            .ToArray();
        await WithinAsync(Task.WhenAll(firstContent.Select(s => s.Task)), "every stream to receive its first content chunk");
        Log($"{InFlightStreams} streams generating");

        _host!.Kill();
        Log("host killed (SIGKILL)");
        Interrupted = await WithinAsync(Task.WhenAll(streams), "the client streams to end");
        Log($"client streams ended after {Interrupted.Sum(s => s.ContentChunks).ToString(CultureInfo.InvariantCulture)} content chunks in all");
    }

    private async Task<T> WithinAsync<T>(Task<T> task, string what)
    {
        await WithinAsync((Task)task, what);
        return await task;
    }

    private async Task WithinAsync(Task task, string what)
    {
        try
        {
            await task.WaitAsync(ConditionTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {ConditionTimeout} waiting for {what}.\n{Report}");
        }
    }

    // Polling the database is waiting on a condition: it returns as soon as it holds, and fails after the bound.
    private async Task UntilAsync(Func<ServerlessDbContext, Task<bool>> condition, TimeSpan timeout, string what)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await using (var db = Database())
            {
                if (await condition(db))
                {
                    return;
                }
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.\n{Report}");
            }

            await Task.Delay(100);
        }
    }

    private void Log(string message) =>
        _timeline.Add(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:F2}s {message}"));
}
