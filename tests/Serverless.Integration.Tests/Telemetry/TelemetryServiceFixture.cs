using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Serverless.Core.Telemetry;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Telemetry;

/// <summary>
/// The local host with an in-memory span exporter added the way an operator adds one (OpenTelemetry's tracer provider
/// over the service's spans), and a logger that keeps each record with its scopes (where the trace id travels).
/// </summary>
public sealed class TelemetryServiceFixture : ServiceFixture
{
    public SpanList Spans { get; } = new();

    public ConcurrentQueue<LoggedRecord> Logs { get; } = new();

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddOpenTelemetry().WithTracing(tracing => tracing.AddServerlessSpans().AddInMemoryExporter(Spans));
        services.AddLogging(logging => logging.AddProvider(new ScopeRecordingLoggerProvider(Logs)));
    }

    /// <summary>The spans of one trace once <paramref name="complete"/> holds for them (spans end after the response is read).</summary>
    public async Task<IReadOnlyList<Activity>> WaitForTraceAsync(ActivityTraceId traceId, Func<IReadOnlyList<Activity>, bool> complete, TimeSpan? timeout = null)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var spans = Spans.Snapshot().Where(s => s.TraceId == traceId).ToList();
            if (complete(spans))
            {
                return spans;
            }

            if (waited.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"Trace {traceId} did not complete; spans so far: {string.Join(", ", spans.Select(s => s.DisplayName))}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>The span with this request id (the API request's own span, tagged by the dispatcher).</summary>
    public async Task<Activity> WaitForRequestSpanAsync(string requestId)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var span = Spans.Snapshot().FirstOrDefault(s => s.Kind is ActivityKind.Server or ActivityKind.Internal
                && s.GetTagItem(TelemetryAttributes.HttpRoute) is not null && (string?)s.GetTagItem(TelemetryAttributes.RequestId) == requestId);
            if (span is not null)
            {
                return span;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), $"No span for request {requestId}");
            await Task.Delay(20);
        }
    }
}

/// <summary>A thread-safe collection for the in-memory exporter (it adds from the request threads while a test reads).</summary>
public sealed class SpanList : ICollection<Activity>
{
    private readonly List<Activity> _items = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public IReadOnlyList<Activity> Snapshot()
    {
        lock (_lock)
        {
            return [.. _items];
        }
    }

    public void Add(Activity item)
    {
        lock (_lock)
        {
            _items.Add(item);
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _items.Clear();
        }
    }

    public bool Contains(Activity item) => Snapshot().Contains(item);

    public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().ToList().CopyTo(array, arrayIndex);

    public bool Remove(Activity item)
    {
        lock (_lock)
        {
            return _items.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

public sealed record LoggedRecord(string Category, string Message, IReadOnlyDictionary<string, object?> Scope);

/// <summary>Keeps every record with the key/value pairs of its scopes (ActivityTrackingOptions adds TraceId and SpanId there).</summary>
internal sealed class ScopeRecordingLoggerProvider(ConcurrentQueue<LoggedRecord> records) : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(ScopeRecordingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var scope = new Dictionary<string, object?>(StringComparer.Ordinal);
            provider._scopes.ForEachScope(
                static (value, pairs) =>
                {
                    if (value is IEnumerable<KeyValuePair<string, object?>> items)
                    {
                        foreach (var (key, item) in items)
                        {
                            pairs[key] = item;
                        }
                    }
                },
                scope);
            if (state is IEnumerable<KeyValuePair<string, object?>> fields)
            {
                foreach (var (key, item) in fields)
                {
                    scope.TryAdd(key, item);
                }
            }

            provider.Records.Enqueue(new LoggedRecord(category, formatter(state, exception), scope));
        }
    }

    private ConcurrentQueue<LoggedRecord> Records => records;
}

[CollectionDefinition(Name)]
public sealed class TelemetryServiceTestGroup : ICollectionFixture<TelemetryServiceFixture>
{
    public const string Name = "service-telemetry";
}
