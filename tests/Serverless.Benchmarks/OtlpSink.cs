using System.Globalization;
using System.Net;

namespace Serverless.Benchmarks;

/// <summary>
/// A local OTLP/HTTP collector stand-in for the telemetry comparison: answers 200 (an empty protobuf export response)
/// to every POST on /v1/traces, /v1/metrics and /v1/logs, reading each body whole and counting requests and bytes, so
/// the "on" service really exports (with no trace exporter no span is recorded at all) and the table can show it did.
/// </summary>
internal sealed class OtlpSink : IDisposable
{
    public const string Traces = "/v1/traces";
    public const string Metrics = "/v1/metrics";
    public const string Logs = "/v1/logs";

    private readonly HttpListener _listener;
    private readonly Task _loop;
    private readonly Dictionary<string, SignalCount> _counts = new(StringComparer.Ordinal)
    {
        [Traces] = new(),
        [Metrics] = new(),
        [Logs] = new(),
    };

    private long _refused;

    private OtlpSink(HttpListener listener, Uri endpoint)
    {
        _listener = listener;
        Endpoint = endpoint;
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>The base address for OTEL_EXPORTER_OTLP_ENDPOINT (the SDK appends /v1/traces, ... for http/protobuf).</summary>
    public Uri Endpoint { get; }

    /// <summary>Requests to anything but the three signal paths, or not POST (answered 404); should stay 0.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public static OtlpSink Start()
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = Loopback.FreePorts(1)[0];
            var endpoint = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(endpoint.ToString());
            try
            {
                listener.Start();
                return new OtlpSink(listener, endpoint);
            }
            catch (HttpListenerException) when (attempt < 3)
            {
                // The port was taken between finding it and listening on it.
                listener.Close();
            }
        }
    }

    /// <summary>Requests and body bytes received so far on one signal path.</summary>
    public (long Requests, long Bytes) Received(string path)
    {
        var count = _counts[path];
        return (Interlocked.Read(ref count.Requests), Interlocked.Read(ref count.Bytes));
    }

    /// <summary>Waits until at least <paramref name="requests"/> requests arrived on <paramref name="path"/>, or the timeout passed.</summary>
    public async Task<bool> WaitForAsync(string path, long requests, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Received(path).Requests < requests)
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(50, cancellationToken);
        }

        return true;
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener.
        }
    }

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            long bytes = 0;
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.InputStream.ReadAsync(buffer)) > 0)
            {
                bytes += read;
            }

            string path = context.Request.Url?.AbsolutePath ?? string.Empty;
            if (context.Request.HttpMethod == "POST" && _counts.TryGetValue(path, out var count))
            {
                Interlocked.Increment(ref count.Requests);
                Interlocked.Add(ref count.Bytes, bytes);
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
            }
            else
            {
                Interlocked.Increment(ref _refused);
                context.Response.StatusCode = 404;
            }

            context.Response.ContentLength64 = 0;
            context.Response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The exporter gave up on this request (shutdown); nothing to count.
        }
    }

    private sealed class SignalCount
    {
        public long Requests;
        public long Bytes;
    }
}
