using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Models;

/// <summary>
/// The models this instance serves, each loaded at most once: the first request for a model starts the
/// download and load, concurrent requests wait for that same load, later requests get the warm model.
/// A failed load is forgotten, so a later request tries again while other models keep working. A load is a span under
/// the request that started it, and a <c>serverless.model.load.duration</c> observation (a cold start when it succeeded).
/// </summary>
public sealed partial class ModelRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, ModelEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ModelDefinition> _definitions;
    private readonly ModelCache _downloader;
    private readonly ILogger<ModelRegistry> _logger;
    private readonly CancellationToken _stopping;
    private readonly long _startedAt;
    private readonly ServerlessMetrics _metrics;

    public ModelRegistry(
        IOptions<ModelStorageOptions> storage,
        ModelCache downloader,
        IHostApplicationLifetime lifetime,
        TimeProvider time,
        ILogger<ModelRegistry> logger,
        ServerlessMetrics metrics)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(time);
        _definitions = storage.Value.Models.ToDictionary(m => m.Id, StringComparer.Ordinal);
        _downloader = downloader;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping;
        _startedAt = time.GetUtcNow().ToUnixTimeSeconds();
        GenAiRuntime.EnsureInitialized();
    }

    public IEnumerable<ModelDefinition> Definitions => _definitions.Values.OrderBy(d => d.Id, StringComparer.Ordinal);

    public bool Exists(string id) => _definitions.ContainsKey(id);

    /// <summary>Unix time used as a model's "created" in /v1/models: when it was loaded here, else when the service started.</summary>
    public long CreatedAt(string id) =>
        _entries.TryGetValue(id, out var entry) && entry.LoadedAt is long loadedAt ? loadedAt : _startedAt;

    /// <summary>Returns the loaded model, loading it first if this instance has not yet.</summary>
    /// <exception cref="ModelUnavailableException">The model could not be loaded; a later call tries again.</exception>
    public async ValueTask<ModelAcquisition> AcquireAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!_definitions.TryGetValue(id, out var definition))
        {
            throw ApiException.ModelNotFound(id);
        }

        var entry = _entries.GetOrAdd(id, static _ => new ModelEntry());
        if (entry.Ready is { } ready)
        {
            return new ModelAcquisition(ready, null);
        }

        Task<LoadedModel> loading;
        bool paid = false;
        lock (entry)
        {
            if (entry.Ready is { } readyNow)
            {
                return new ModelAcquisition(readyNow, null);
            }

            if (entry.Loading is null)
            {
                // The load belongs to the instance, not to the request that started it: other requests wait on it too.
                entry.Loading = Task.Run(() => LoadAsync(definition, entry), CancellationToken.None);
                paid = true;
            }

            loading = entry.Loading;
        }

        try
        {
            var model = await loading.WaitAsync(cancellationToken);
            return new ModelAcquisition(model, paid ? entry.LastLoadMilliseconds : null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw ex as ModelUnavailableException
                ?? new ModelUnavailableException(id, ModelUnavailableReason.LoadFailed, ex.Message, innerException: ex);
        }
    }

    /// <summary>The <see cref="ModelStatus.State"/> of a model loaded in memory.</summary>
    public const string ReadyState = "ready";

    public IReadOnlyList<ModelStatus> Status() =>
        Definitions.Select(d =>
        {
            _entries.TryGetValue(d.Id, out var e);
            string state = e is null ? "not_loaded" : e.Ready is not null ? ReadyState : e.Loading is not null ? "loading" : e.LastError is not null ? "failed" : "not_loaded";
            return new ModelStatus(d.Id, d.ToString(), state, _downloader.DownloadCount(d.Id), e?.Loads ?? 0, e?.Failures ?? 0, e?.LastLoadMilliseconds, e?.LastError);
        }).ToList();

    public void Dispose()
    {
        foreach (var entry in _entries.Values)
        {
            entry.Ready?.Dispose();
        }

        _entries.Clear();
    }

    private async Task<LoadedModel> LoadAsync(ModelDefinition definition, ModelEntry entry)
    {
        var watch = Stopwatch.StartNew();

        // Started by the first request that needed the model (Task.Run keeps its span current), so it is that request's child.
        using var span = ServerlessTelemetry.Start(ServerlessTelemetry.Spans.ModelLoad);
        span?.SetTag(TelemetryAttributes.RequestModel, definition.Id);
        try
        {
            LogLoading(_logger, definition.Id);
            string folder = await _downloader.EnsureLocalAsync(definition, _stopping);
            var model = LoadedModel.Load(definition.Id, folder);
            lock (entry)
            {
                entry.LastLoadMilliseconds = watch.ElapsedMilliseconds;
                entry.LoadedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                entry.Loads++;
                entry.LastError = null;
                entry.Ready = model;
                entry.Loading = null;
            }

            LogLoaded(_logger, definition.Id, watch.ElapsedMilliseconds, folder);
            _metrics.RecordModelLoad(watch.Elapsed, definition.Id, null);
            return model;
        }
        catch (Exception ex)
        {
            _metrics.RecordModelLoad(watch.Elapsed, definition.Id, ex.GetType().Name);
            span?.SetTag(TelemetryAttributes.ErrorType, ex.GetType().FullName).SetStatus(ActivityStatusCode.Error);
            lock (entry)
            {
                entry.Failures++;
                entry.LastError = ex.Message;
                entry.Loading = null;
            }

            LogLoadFailed(_logger, ex, definition.Id);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loading model {ModelId}")]
    private static partial void LogLoading(ILogger logger, string modelId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelId} ready in {Milliseconds} ms from {Folder}")]
    private static partial void LogLoaded(ILogger logger, string modelId, long milliseconds, string folder);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelId} failed to load; a later request retries")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string modelId);

    private sealed class ModelEntry
    {
        public volatile LoadedModel? Ready;
        public Task<LoadedModel>? Loading;
        public int Loads;
        public int Failures;
        public long? LastLoadMilliseconds;
        public long? LoadedAt;
        public string? LastError;
    }
}

/// <summary>A loaded model and, for the request that paid for the load, how long it took.</summary>
public sealed record ModelAcquisition(LoadedModel Model, long? LoadMilliseconds);

/// <summary>What an admin sees about a model on this instance.</summary>
public sealed record ModelStatus(string Id, string Source, string State, int Downloads, int Loads, int Failures, long? LastLoadMilliseconds, string? LastError);
