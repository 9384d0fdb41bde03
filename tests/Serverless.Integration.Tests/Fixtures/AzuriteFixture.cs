using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;
using Serverless.Core.Models;

namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// A private in-memory Azurite (blob, queue and table) on free ports, for one test class. Uses the
/// repository's npm-installed azurite (node_modules/.bin/azurite, or AZURITE_PATH).
/// </summary>
public class AzuriteFixture : IAsyncLifetime
{
    public const string AccountName = "devstoreaccount1";

    // Azurite's well-known development account key (public, documented).
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly StringBuilder _output = new();
    private Process? _process;

    public int BlobPort { get; private set; }

    public int QueuePort { get; private set; }

    public int TablePort { get; private set; }

    public Uri BlobEndpoint => new($"http://127.0.0.1:{BlobPort}/{AccountName}");

    public Uri QueueEndpoint => new($"http://127.0.0.1:{QueuePort}/{AccountName}");

    public Uri TableEndpoint => new($"http://127.0.0.1:{TablePort}/{AccountName}");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint={BlobEndpoint};QueueEndpoint={QueueEndpoint};TableEndpoint={TableEndpoint};";

    /// <summary>
    /// Whether Azurite accepts any x-ms-version. True by default because other Azure SDKs (queues,
    /// tables, Durable Task) send versions newer than Azurite 3.35 knows.
    /// </summary>
    protected virtual bool SkipApiVersionCheck => true;

    /// <summary>A blob client that talks to this Azurite the way the product does (pinned service version).</summary>
    public BlobServiceClient CreateBlobServiceClient() => BlobServiceClientFactory.Create(ConnectionString);

    public async Task InitializeAsync()
    {
        var executable = FindAzurite();
        // Free ports are picked before Azurite binds them; if another process grabs one in between, try again.
        for (var attempt = 1; ; attempt++)
        {
            (BlobPort, QueuePort, TablePort) = ReserveFreePorts();
            _process = Start(executable);
            try
            {
                await WaitUntilListeningAsync(_process);
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                Stop();
            }
        }
    }

    public Task DisposeAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    /// <summary>Finds the azurite launcher: AZURITE_PATH, node_modules above the test binaries, the main worktree's, or PATH.</summary>
    public static string FindAzurite()
    {
        var relative = Path.Combine("node_modules", ".bin", "azurite");
        if (Environment.GetEnvironmentVariable("AZURITE_PATH") is { Length: > 0 } configured)
        {
            return configured;
        }

        if (RepositoryRoot.FindUpwards(AppContext.BaseDirectory, relative) is { } root)
        {
            return Path.Combine(root, relative);
        }

        if (RepositoryRoot.MainWorktree(RepositoryRoot.Path) is { } main && File.Exists(Path.Combine(main, relative)))
        {
            return Path.Combine(main, relative);
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "azurite"))
            .FirstOrDefault(File.Exists);
        return onPath ?? throw new InvalidOperationException(
            $"azurite not found: run 'npm ci' in {RepositoryRoot.Path}, or set AZURITE_PATH.");
    }

    private Process Start(string executable)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments =
        [
            "--silent", "--disableTelemetry", "--inMemoryPersistence",
            "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (SkipApiVersionCheck)
        {
            startInfo.ArgumentList.Add("--skipApiVersionCheck");
        }

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilListeningAsync(Process process)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await AcceptsConnectionsAsync(port))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    string output;
                    lock (_output)
                    {
                        output = _output.ToString();
                    }

                    throw new InvalidOperationException(
                        $"Azurite did not start listening on port {port} (exited: {process.HasExited}). Output:\n{output}");
                }

                await Task.Delay(50);
            }
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static (int Blob, int Queue, int Table) ReserveFreePorts()
    {
        // All three are held at once so the OS hands out three different ports.
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            return (ports[0], ports[1], ports[2]);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private void Stop()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        _process = null;
    }
}
