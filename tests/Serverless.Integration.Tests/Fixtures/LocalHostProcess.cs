using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// The local host (src/Serverless.Local) as a real child process, configured only through environment
/// variables, so a test can kill it the hard way (SIGKILL: no shutdown code runs) and start it again over the
/// same database and storage. It listens on one port for its whole life, so clients keep their base address
/// across restarts. Output of every run is kept for failure messages.
/// </summary>
public sealed class LocalHostProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _environment;
    private readonly IReadOnlyList<string> _arguments;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private int _runs;

    /// <param name="environment">
    /// Configuration of the host, as keys ("Database:ConnectionString" or "Database__ConnectionString") and values;
    /// a null value removes a variable the test process would otherwise pass on.
    /// </param>
    /// <param name="arguments">Extra arguments after <c>serve --urls ...</c>.</param>
    public LocalHostProcess(IReadOnlyDictionary<string, string?> environment, IEnumerable<string>? arguments = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        _environment = environment.ToDictionary(e => EnvironmentName(e.Key), e => e.Value, StringComparer.Ordinal);
        _arguments = [.. arguments ?? []];
        Port = FreePort();
    }

    /// <summary>The host's entry assembly, built with the same configuration (Debug/Release) as these tests.</summary>
    public static string HostDll
    {
        get
        {
            // The test binaries sit in bin/<Configuration>/net10.0; the referenced Local project is built the same way.
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            return Path.Combine(RepositoryRoot.Path, "src", "Serverless.Local", "bin", configuration, "net10.0", "Serverless.Local.dll");
        }
    }

    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>How long a start may take until /health answers.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The id of the process started last (running or not).</summary>
    public int ProcessId { get; private set; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything every run wrote to stdout and stderr, each run under its own heading.</summary>
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

    /// <summary>Starts the host and returns once GET /health answers 200.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The host is already running.");
        }

        bool first = _runs == 0;
        for (int attempt = 1; ; attempt++)
        {
            _process?.Dispose();
            string[] arguments = ["serve", "--urls", BaseAddress.ToString().TrimEnd('/'), .. _arguments];
            _process = Launch(arguments, string.Create(CultureInfo.InvariantCulture, $"serve (run {++_runs})"));
            ProcessId = _process.Id;
            try
            {
                await WaitUntilHealthyAsync(_process);
                return;
            }
            catch (InvalidOperationException) when (first && attempt < 3 && _process.HasExited && Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // The free port was taken between picking and binding it. Later runs keep their port: clients hold it.
                Port = FreePort();
            }
        }
    }

    /// <summary>SIGKILL to the host (and anything it started), then waits until it is gone and its output drained.</summary>
    public void Kill()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            // On Unix this is SIGKILL: no graceful shutdown, no hosted service stops, nothing flushed.
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _process.WaitForExit();
        Append($"--- killed (exit code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)}) ---");
    }

    /// <summary>Kills the host if it runs and starts it again with the same configuration and port.</summary>
    public async Task RestartAsync()
    {
        Kill();
        await StartAsync();
    }

    /// <summary>Runs an admin CLI command (setup, keys create, ...) with the host's configuration and waits for it.</summary>
    public async Task<HostCommandResult> RunCommandAsync(params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        using var timeout = new CancellationTokenSource(StartTimeout);
        var output = new StringBuilder();
        using var process = Launch(arguments, string.Join(' ', arguments), output);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"'{string.Join(' ', arguments)}' did not finish within {StartTimeout}. Output:\n{Text(output)}");
        }

        // The parameterless wait also drains the redirected output.
        process.WaitForExit();
        return new HostCommandResult(process.ExitCode, Text(output));
    }

    /// <summary>An HTTP client for the host's port, with a bearer key if given.</summary>
    public HttpClient CreateClient(string? bearer = null)
    {
        var client = new HttpClient(new SocketsHttpHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        return ValueTask.CompletedTask;
    }

    private static string EnvironmentName(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private Process Launch(IEnumerable<string> arguments, string title, StringBuilder? copy = null)
    {
        string dll = HostDll;
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build src/Serverless.Local with the tests' configuration.");
        }

        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The host's content root (appsettings.json) is its own folder, as when run.sh starts it.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        startInfo.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in _environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(e.Data, copy);
        process.ErrorDataReceived += (_, e) => Append(e.Data, copy);
        Append($"--- {title} ---");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line, StringBuilder? copy = null)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (copy is not null)
        {
            lock (copy)
            {
                copy.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilHealthyAsync(Process process)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await client.GetAsync("/health");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (process.HasExited || deadline.Elapsed > StartTimeout)
            {
                if (process.HasExited)
                {
                    // Drains the redirected output, so the message below has all of it.
                    process.WaitForExit();
                }

                string state = process.HasExited ? $"exited with {process.ExitCode.ToString(CultureInfo.InvariantCulture)}" : $"not healthy after {StartTimeout}";
                throw new InvalidOperationException($"The local host on port {Port.ToString(CultureInfo.InvariantCulture)} {state}. Output:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
