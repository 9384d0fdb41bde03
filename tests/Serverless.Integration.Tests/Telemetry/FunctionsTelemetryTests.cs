using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.Core.Telemetry;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>
/// The Functions app's host, built as the worker builds it (it cannot run without the Functions host, but it can be
/// built): OpenTelemetry with the Azure Monitor exporter when APPLICATIONINSIGHTS_CONNECTION_STRING is set, sending the
/// service's spans to the ingestion endpoint the connection string names; nothing of OpenTelemetry without it.
/// </summary>
public sealed class FunctionsTelemetryTests
{

    [Fact]
    public async Task With_the_connection_string_the_worker_exports_the_service_spans_to_azure_monitor()
    {
        using var ingestion = new IngestionEndpoint();
        using var diagnostics = new OpenTelemetryEvents();
        // Every trace, not the exporter's default rate limit (it may drop the first span of a process).
        using var host = BuildFunctionsHost($"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={ingestion.Url}", "--OTEL_TRACES_SAMPLER=microsoft.fixed_percentage", "--OTEL_TRACES_SAMPLER_ARG=1.0");

        var tracer = host.Services.GetService<TracerProvider>();
        Assert.NotNull(tracer);
        Assert.NotNull(host.Services.GetService<MeterProvider>());
        string name = "probe " + Guid.NewGuid().ToString("N");
        // The exporter joins the tracer provider as the host starts (a hosted service of its own): start that one, as the
        // worker's host would (the rest of the worker needs the Functions host).
        var registration = host.Services.GetServices<IHostedService>().Single(s => s.GetType().Name == "ExporterRegistrationHostedService");
        await registration.StartAsync(CancellationToken.None);
        using (var span = ServerlessTelemetry.Start(name))
        {
            Assert.NotNull(span);
        }

        Assert.True(tracer.ForceFlush(10_000));
        string sent = await ingestion.WaitForAsync(body => body.Contains(name, StringComparison.Ordinal), TimeSpan.FromSeconds(20), diagnostics.ToString);
        Assert.Contains("00000000-0000-0000-0000-000000000001", sent, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_connection_string_or_an_otlp_endpoint_the_worker_registers_no_exporter()
    {
        using var host = BuildFunctionsHost(connectionString: null);

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.Null(host.Services.GetService<MeterProvider>());
        Assert.NotNull(host.Services.GetService<ServerlessMetrics>());
    }

    [Fact]
    public void Switched_off_the_worker_registers_no_exporter_even_with_the_connection_string()
    {
        using var host = BuildFunctionsHost("InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:9/", "--Telemetry:Enabled=false");

        Assert.Null(host.Services.GetService<TracerProvider>());
    }

    // FunctionsAppHost.Build from the Functions build output, in a load context that takes every assembly this test
    // already has (so the host's types are the test's) and the worker's own packages from the app's folder. The host
    // endpoint is only read (the worker's services resolve), never called: the host is not started.
    private static IHost BuildFunctionsHost(string? connectionString, params string[] more)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string app = Path.Combine(RepositoryRoot.Path, "src", "Serverless.Functions", "bin", configuration, "net10.0", "Serverless.Functions.dll");
        Assert.True(File.Exists(app), $"{app} is missing: build src/Serverless.Functions");
        var context = new FunctionsAppContext(app);
        var type = context.LoadFromAssemblyPath(app).GetType("Serverless.Functions.FunctionsAppHost", throwOnError: true)!;
        string[] args = [.. connectionString is null ? [] : new[] { $"--APPLICATIONINSIGHTS_CONNECTION_STRING={connectionString}" }, "--OTEL_EXPORTER_OTLP_ENDPOINT=", "--Functions:Worker:HostEndpoint=http://127.0.0.1:9", .. more];
        return (IHost)type.GetMethod("Build")!.Invoke(null, [args])!;
    }

    private sealed class FunctionsAppContext(string app) : AssemblyLoadContext("functions-app")
    {
        private readonly AssemblyDependencyResolver _resolver = new(app);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            try
            {
                return Default.LoadFromAssemblyName(assemblyName);
            }
            catch (Exception ex) when (ex is FileNotFoundException or FileLoadException)
            {
                return _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
            }
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }

    /// <summary>What OpenTelemetry and the exporter report about themselves (warnings and errors), for a failure message.</summary>
    private sealed class OpenTelemetryEvents : System.Diagnostics.Tracing.EventListener
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _events = new();

        public override string ToString() => string.Join("\n", _events);

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
        {
            if (eventSource.Name.StartsWith("OpenTelemetry", StringComparison.Ordinal))
            {
                EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Warning);
            }
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
        {
            if (eventData.EventSource.Name != "OpenTelemetry-Sdk" || eventData.Level <= System.Diagnostics.Tracing.EventLevel.Error)
            {
                _events.Enqueue($"{eventData.EventSource.Name}: {(eventData.Message is null ? string.Empty : string.Format(System.Globalization.CultureInfo.InvariantCulture, eventData.Message, eventData.Payload?.ToArray() ?? []))}");
            }
        }
    }

    /// <summary>Stands in for Application Insights' ingestion: keeps every body posted to it (gzip or not).</summary>
    private sealed class IngestionEndpoint : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<string> _bodies = [];
        private readonly Task _loop;

        public IngestionEndpoint()
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/";
            }

            _listener.Prefixes.Add(Url);
            _listener.Start();
            _loop = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout, Func<string> report)
        {
            var waited = Stopwatch.StartNew();
            while (true)
            {
                lock (_bodies)
                {
                    if (_bodies.FirstOrDefault(match) is { } body)
                    {
                        return body;
                    }

                    Assert.True(waited.Elapsed < timeout, $"Nothing matching arrived; {_bodies.Count} bodies: {string.Join("\n", _bodies)}\nOpenTelemetry said:\n{report()}");
                }

                await Task.Delay(50);
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext call;
                try
                {
                    call = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await call.Request.InputStream.CopyToAsync(body);
                body.Position = 0;
                Stream content = call.Request.Headers["Content-Encoding"] == "gzip" ? new GZipStream(body, CompressionMode.Decompress) : body;
                using (var reader = new StreamReader(content, Encoding.UTF8))
                {
                    string text = await reader.ReadToEndAsync();
                    lock (_bodies)
                    {
                        _bodies.Add(text);
                    }
                }

                // Application Insights' answer to a batch it accepted whole.
                call.Response.StatusCode = 200;
                call.Response.ContentType = "application/json";
                byte[] accepted = """{"itemsReceived":1,"itemsAccepted":1,"errors":[]}"""u8.ToArray();
                await call.Response.OutputStream.WriteAsync(accepted);
                call.Response.Close();
            }
        }
    }
}
