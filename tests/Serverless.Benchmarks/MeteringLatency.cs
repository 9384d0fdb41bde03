using System.Globalization;

using static Serverless.Benchmarks.BenchmarkOutput;

namespace Serverless.Benchmarks;

/// <summary>
/// What metering adds to a request at one client. Two service processes, alike but for Metering:Enabled (each
/// with its own SQLite file, so neither waits on the other's writes), take turns answering the same
/// non-streaming completion, one request at a time. Each request is timed by the client; the metered one also
/// reports how long it waited on the ledger (Server-Timing "ledger": its admission and settlement commits).
/// </summary>
internal static class MeteringLatency
{
    public static async Task<MeteringLatencyResult> RunAsync(string root, BenchmarkArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        Progress("starting Azurite and uploading the demo model");
        using var azurite = await DemoModelUpload.StartAsync(Path.Combine(root, "demo-model"), arguments.SessionOptions, cancellationToken);

        // Rate limits stay on (the same statements run) but high enough that a fast client does not reach them.
        var common = new Dictionary<string, string>(arguments.ServerEnvironment)
        {
            ["Metering__DefaultRequestsPerMinute"] = "1000000000",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var on = new ServiceConfiguration(Folder(root, "metered"), azurite.ConnectionString, DemoModelUpload.ModelId, common);
        var off = new ServiceConfiguration(Folder(root, "unmetered"), azurite.ConnectionString, DemoModelUpload.ModelId,
            new Dictionary<string, string>(common) { ["Metering__Enabled"] = "false" });

        Progress("creating API keys and starting the metered and the unmetered service");
        string onKey = await CreateKeyAsync(arguments, on, cancellationToken);
        string offKey = await CreateKeyAsync(arguments, off, cancellationToken);
        using var onService = await ServiceProcess.StartAsync(arguments.ServerDll, on.WithFreshCache(), cancellationToken);
        using var offService = await ServiceProcess.StartAsync(arguments.ServerDll, off.WithFreshCache(), cancellationToken);
        using var onClient = new CompletionClient(onService.BaseAddress, onKey, DemoModelUpload.ModelId);
        using var offClient = new CompletionClient(offService.BaseAddress, offKey, DemoModelUpload.ModelId);

        var result = new MeteringLatencyResult(arguments.LatencyRequests);
        using var probe = new IdleFsyncProbe(Path.Combine(root, "metered"));
        for (int i = 0; i < arguments.LatencyWarmup + arguments.LatencyRequests; i++)
        {
            if (i % 100 == 0)
            {
                Progress(i < arguments.LatencyWarmup
                    ? string.Create(CultureInfo.InvariantCulture, $"metering latency warmup {i}/{arguments.LatencyWarmup}")
                    : string.Create(CultureInfo.InvariantCulture, $"metering latency {i - arguments.LatencyWarmup}/{arguments.LatencyRequests}"));
            }

            var disk = probe.Measure();

            // Alternate which goes first, so neither always follows the other's (cache-warming or -evicting) request.
            bool onFirst = i % 2 == 0;
            var first = await CompleteAsync(onFirst ? onClient : offClient, arguments, metered: onFirst, cancellationToken);
            var second = await CompleteAsync(onFirst ? offClient : onClient, arguments, metered: !onFirst, cancellationToken);
            if (i >= arguments.LatencyWarmup)
            {
                var (metered, unmetered) = onFirst ? (first, second) : (second, first);
                result.On.Add(metered.Elapsed);
                result.Off.Add(unmetered.Elapsed);
                result.Ledger.Add(metered.Ledger!.Value);
                result.Disk.Add(disk);
            }
        }

        return result;
    }

    private static async Task<GenerationRun> CompleteAsync(CompletionClient client, BenchmarkArguments arguments, bool metered, CancellationToken cancellationToken)
    {
        var run = await client.CompleteAsync(arguments.Prompt, arguments.MaxTokens, cancellationToken);
        if (run.CompletionTokens != arguments.MaxTokens)
        {
            throw new InvalidOperationException($"A request returned {run.CompletionTokens} completion tokens, not {arguments.MaxTokens}.");
        }

        // The unmetered service must really skip the ledger, and the metered one must report its wait.
        if (metered != run.Ledger.HasValue)
        {
            throw new InvalidOperationException(metered
                ? "The metered service sent no Server-Timing ledger entry; is --server-dll a build with it?"
                : "The service with Metering__Enabled=false still went through the ledger.");
        }

        return run;
    }

    private static async Task<string> CreateKeyAsync(BenchmarkArguments arguments, ServiceConfiguration configuration, CancellationToken cancellationToken)
    {
        string output = await ChildProcess.RunAsync("dotnet", [arguments.ServerDll, "keys", "create", "--customer", "bench"], configuration.WithFreshCache(), cancellationToken);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
    }

    private static string Folder(string root, string name)
    {
        string folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        return folder;
    }
}

/// <summary>Per-request latencies at one client: metered and unmetered requests as the client saw them, and the metered ones' ledger wait.</summary>
internal sealed class MeteringLatencyResult(int requests)
{
    public List<TimeSpan> On { get; } = new(requests);

    public List<TimeSpan> Off { get; } = new(requests);

    public List<TimeSpan> Ledger { get; } = new(requests);

    /// <summary>The disk alone between the rounds (<see cref="IdleFsyncProbe"/>).</summary>
    public List<TimeSpan> Disk { get; } = new(requests);
}
