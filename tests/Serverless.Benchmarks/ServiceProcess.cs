using System.Diagnostics;
using System.Globalization;

namespace Serverless.Benchmarks;

/// <summary>
/// The local host (Serverless.Local.dll) in its own process on a free loopback port. A separate process is
/// the honest setup: client and server do not share a GC heap or a thread pool, as in production.
/// </summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly ChildProcess _process;

    private ServiceProcess(ChildProcess process, Uri baseAddress, TimeSpan startup)
    {
        _process = process;
        BaseAddress = baseAddress;
        Startup = startup;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>From starting the process to the first good /health answer.</summary>
    public TimeSpan Startup { get; }

    public static async Task<ServiceProcess> StartAsync(string serverDll, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = Loopback.FreePorts(1)[0];
            var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            var started = Stopwatch.GetTimestamp();
            var process = ChildProcess.Start("dotnet", [serverDll, "serve", "--urls", baseAddress.ToString().TrimEnd('/')], environment);
            bool healthy;
            try
            {
                healthy = await WaitUntilHealthyAsync(process, baseAddress, cancellationToken);
            }
            catch
            {
                process.Dispose();
                throw;
            }

            if (healthy)
            {
                return new ServiceProcess(process, baseAddress, Stopwatch.GetElapsedTime(started));
            }

            string output = process.Output;
            process.Dispose();
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"The service did not become healthy on {baseAddress}:\n{output}");
            }
        }
    }

    public void Dispose() => _process.Dispose();

    private static async Task<bool> WaitUntilHealthyAsync(ChildProcess process, Uri baseAddress, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!process.HasExited && DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await client.GetAsync(new Uri("health", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening but too slow to answer within the client's timeout (a busy machine starting two at once): ask again.
            }

            await Task.Delay(10, cancellationToken);
        }

        return false;
    }
}
