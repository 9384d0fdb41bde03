using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package; <c>./test.sh</c> installs it) scraping one target
/// with a bearer token every <see cref="ScrapeInterval"/>, its data in a temp folder, answering PromQL over its HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "svl-prom-" + Guid.NewGuid().ToString("N"));
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http;
    private Process? _process;

    private PrometheusServer(int port)
    {
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/") };
    }

    public int Port { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The prometheus binary: <c>SERVERLESS_TEST_PROMETHEUS</c>, else Debian's.</summary>
    public static string Binary => Environment.GetEnvironmentVariable("SERVERLESS_TEST_PROMETHEUS") is { Length: > 0 } path ? path : "/usr/bin/prometheus";

    /// <summary>Starts Prometheus scraping <paramref name="target"/> (host:port) at <paramref name="path"/> with <paramref name="bearer"/>.</summary>
    public static async Task<PrometheusServer> StartAsync(string target, string path, string bearer)
    {
        var server = new PrometheusServer(FreePort());
        await server.LaunchAsync(target, path, bearer);
        return server;
    }

    private async Task LaunchAsync(string target, string path, string bearer)
    {
        Directory.CreateDirectory(_root);
        string credentials = Path.Combine(_root, "token");
        await File.WriteAllTextAsync(credentials, bearer);
        string config = Path.Combine(_root, "prometheus.yml");
        string interval = $"{ScrapeInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: {interval}
              scrape_timeout: {interval}
            scrape_configs:
              - job_name: serverless
                metrics_path: {path}
                authorization:
                  type: Bearer
                  credentials_file: {credentials}
                static_configs:
                  - targets: ["{target}"]
            """);
        var start = new ProcessStartInfo(Binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_root, "data")}",
            $"--web.listen-address=127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}", "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"{Binary} did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Prometheus exited ({_process.ExitCode}):\n{Output}");
            }

            try
            {
                using var ready = await _http.GetAsync("-/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"Prometheus was not ready within 30 s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>An instant PromQL query: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (!response.IsSuccessStatusCode || body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"query {promql} failed: {body}");
        }

        return [.. body.GetProperty("data").GetProperty("result").EnumerateArray().Select(series => (
            (IReadOnlyDictionary<string, string>)series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))];
    }

    /// <summary>
    /// The scrape target's health ("up", "down", "unknown") and its last error, from <c>/api/v1/targets</c>; "unknown"
    /// also until discovery has listed it (a moment after the server is ready).
    /// </summary>
    public async Task<(string Health, string LastError, DateTimeOffset LastScrape)> TargetAsync()
    {
        var body = await _http.GetFromJsonAsync<JsonElement>("api/v1/targets");
        var targets = body.GetProperty("data").GetProperty("activeTargets").EnumerateArray().ToList();
        if (targets.Count == 0)
        {
            return ("unknown", string.Empty, DateTimeOffset.MinValue);
        }

        var target = targets.Single();
        return (target.GetProperty("health").GetString()!, target.GetProperty("lastError").GetString()!,
            DateTimeOffset.Parse(target.GetProperty("lastScrape").GetString()!, CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until a scrape has succeeded that began after <paramref name="after"/>.</summary>
    public async Task WaitForScrapeAfterAsync(DateTimeOffset after, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var (health, error, last) = await TargetAsync();
            if (health == "up" && last > after)
            {
                return;
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"no successful scrape after {after:O} within {timeout}: health {health}, last error '{error}'\n{Output}");
            }

            await Task.Delay(200);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _http.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
