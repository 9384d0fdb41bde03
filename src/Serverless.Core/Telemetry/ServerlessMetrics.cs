using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Core.Telemetry;

/// <summary>
/// Every instrument of the service, created once on the one "Serverless" meter (through <see cref="IMeterFactory"/>, so
/// each host has its own). Features record through these methods; the names, units and attributes are the README's
/// (Observability). Recording costs a check of <see cref="Instrument.Enabled"/> when nothing listens.
/// </summary>
public sealed class ServerlessMetrics
{
    // GenAI semantic conventions' advised buckets (seconds), with finer ones at the bottom for small CPU models.
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    private static readonly double[] PerTokenBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
    private static readonly double[] ShortBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly long[] SizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private readonly IServiceProvider _services;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<long> _generatedTokens;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _modelLoad;
    private readonly Counter<long> _coldStarts;
    private readonly Histogram<double> _ledgerCommit;
    private readonly Histogram<long> _ledgerBatch;
    private readonly Counter<long> _stripeCalls;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _webhookEvents;
    private readonly Counter<long> _batchLines;
    private readonly Counter<long> _apiErrors;

    public ServerlessMetrics(IMeterFactory meters, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _services = services;
        var meter = meters.Create(ServerlessTelemetry.Name, typeof(ServerlessMetrics).Assembly.GetName().Version?.ToString(3));
        Meter = meter;
        _requestDuration = meter.CreateHistogram(Names.RequestDuration, "s", "Time from the start of a completion to its end (response delivered, line stored, or failure)", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _timeToFirstToken = meter.CreateHistogram(Names.TimeToFirstToken, "s", "Time from the start of a completion to its first generated token", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _timePerOutputToken = meter.CreateHistogram(Names.TimePerOutputToken, "s", "Time per generated token after the first", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PerTokenBuckets });
        _generatedTokens = meter.CreateHistogram(Names.GeneratedTokens, "{token}", "Tokens generated per completion, by how it finished", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384] });
        _tokens = meter.CreateCounter<long>(Names.Tokens, "{token}", "Tokens billed, counted when the ledger's settlement committed (equals the ledger)");
        _queueWait = meter.CreateHistogram(Names.QueueWait, "s", "Time a completion waited for a generation slot", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ShortBuckets });
        _modelLoad = meter.CreateHistogram(Names.ModelLoadDuration, "s", "Time to download (when not cached) and load a model on this instance", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _coldStarts = meter.CreateCounter<long>(Names.ColdStarts, "{load}", "Models loaded on this instance (a first request for a model after the instance started, or after a failed load)");
        _ledgerCommit = meter.CreateHistogram(Names.LedgerCommitDuration, "s", "Time of one ledger transaction (group commit), from its start to its durable commit", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ShortBuckets });
        _ledgerBatch = meter.CreateHistogram(Names.LedgerCommitSize, "{operation}", "Ledger operations (admissions, settlements, ...) committed by one transaction", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = SizeBuckets });
        _stripeCalls = meter.CreateCounter<long>(Names.StripeCalls, "{call}", "Calls to Stripe's API, by operation and outcome");
        _deadLetters = meter.CreateCounter<long>(Names.DeadLetters, "{bucket}", "Export buckets Stripe refused for good (dead-lettered)");
        _webhookEvents = meter.CreateCounter<long>(Names.WebhookEvents, "{event}", "Stripe webhook events received, by type and outcome");
        _batchLines = meter.CreateCounter<long>(Names.BatchLines, "{line}", "Batch lines run, by outcome");
        _apiErrors = meter.CreateCounter<long>(Names.ApiErrors, "{error}", "API requests answered with an error, by status and code");
        meter.CreateObservableGauge(Names.QueueLength, ObserveQueue, "{request}", "Completions waiting for a generation slot now");
        meter.CreateObservableGauge(Names.SlotsInUse, ObserveSlotsInUse, "{slot}", "Generation slots in use now");
        meter.CreateObservableGauge(Names.SlotsLimit, ObserveSlotLimit, "{slot}", "Generation slots of this instance");
        meter.CreateObservableGauge(Names.OutboxPending, ObservePending, "{record}", "Settled usage records not yet accepted by Stripe");
        meter.CreateObservableGauge(Names.OutboxOldestAge, ObserveOldestAge, "s", "Age of the oldest usage record not yet accepted by Stripe (export lag)");
    }

    /// <summary>The meter (its scope is this host's <see cref="IMeterFactory"/>).</summary>
    public Meter Meter { get; }

    /// <summary>One completion (live or batch line) ended: its whole duration, with error.type when it failed.</summary>
    public void RecordRequest(TimeSpan duration, string operation, string model, string requestType, string? errorType)
    {
        if (!_requestDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { TelemetryAttributes.OperationName, operation },
            { TelemetryAttributes.RequestModel, model },
            { TelemetryAttributes.RequestType, requestType },
        };
        if (errorType is null)
        {
            tags.Add(TelemetryAttributes.ResponseModel, model);
        }
        else
        {
            tags.Add(TelemetryAttributes.ErrorType, errorType);
        }

        _requestDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>A generation's first token and, when there was more than one, the time per token after it.</summary>
    public void RecordTokenTimes(TimeSpan timeToFirstToken, TimeSpan? timePerOutputToken, string operation, string model)
    {
        if (!_timeToFirstToken.Enabled && !_timePerOutputToken.Enabled)
        {
            return;
        }

        var tags = new TagList { { TelemetryAttributes.OperationName, operation }, { TelemetryAttributes.RequestModel, model }, { TelemetryAttributes.ResponseModel, model } };
        _timeToFirstToken.Record(timeToFirstToken.TotalSeconds, tags);
        if (timePerOutputToken is { } perToken)
        {
            _timePerOutputToken.Record(perToken.TotalSeconds, tags);
        }
    }

    /// <summary>Tokens a generation produced, and how it finished (stop, length, tool_calls, cancelled).</summary>
    public void RecordGeneratedTokens(long tokens, string model, string finishReason)
    {
        if (_generatedTokens.Enabled)
        {
            _generatedTokens.Record(tokens, new KeyValuePair<string, object?>(TelemetryAttributes.RequestModel, model), new KeyValuePair<string, object?>(TelemetryAttributes.ResponseFinishReasons, finishReason));
        }
    }

    /// <summary>A usage record committed by the ledger: its billed input and output tokens.</summary>
    public void RecordSettled(string customerId, string model, long inputTokens, long outputTokens)
    {
        if (!_tokens.Enabled)
        {
            return;
        }

        var customer = new KeyValuePair<string, object?>(TelemetryAttributes.CustomerId, customerId);
        var requestModel = new KeyValuePair<string, object?>(TelemetryAttributes.RequestModel, model);
        if (inputTokens > 0)
        {
            _tokens.Add(inputTokens, new KeyValuePair<string, object?>(TelemetryAttributes.TokenType, "input"), requestModel, customer);
        }

        if (outputTokens > 0)
        {
            _tokens.Add(outputTokens, new KeyValuePair<string, object?>(TelemetryAttributes.TokenType, "output"), requestModel, customer);
        }
    }

    public void RecordQueueWait(TimeSpan waited, string requestType)
    {
        if (_queueWait.Enabled)
        {
            _queueWait.Record(waited.TotalSeconds, new KeyValuePair<string, object?>(TelemetryAttributes.RequestType, requestType));
        }
    }

    /// <summary>A model load ended; a successful one is a cold start of that model on this instance.</summary>
    public void RecordModelLoad(TimeSpan duration, string model, string? errorType)
    {
        var modelTag = new KeyValuePair<string, object?>(TelemetryAttributes.RequestModel, model);
        if (errorType is null)
        {
            _modelLoad.Record(duration.TotalSeconds, modelTag);
            _coldStarts.Add(1, modelTag);
        }
        else
        {
            _modelLoad.Record(duration.TotalSeconds, modelTag, new KeyValuePair<string, object?>(TelemetryAttributes.ErrorType, errorType));
        }
    }

    /// <summary>One ledger transaction committed: how long it took and how many operations it carried.</summary>
    public void RecordLedgerCommit(TimeSpan duration, int operations)
    {
        if (_ledgerCommit.Enabled)
        {
            _ledgerCommit.Record(duration.TotalSeconds);
        }

        if (_ledgerBatch.Enabled)
        {
            _ledgerBatch.Record(operations);
        }
    }

    /// <param name="operation">Method and path template, e.g. <c>POST /v1/billing/meter_events</c>.</param>
    /// <param name="outcome"><c>success</c>, <c>client_error</c>, <c>rate_limited</c>, <c>server_error</c> or <c>network_error</c>.</param>
    public void CountStripeCall(string operation, string outcome) =>
        _stripeCalls.Add(1, new KeyValuePair<string, object?>(TelemetryAttributes.StripeOperation, operation), new KeyValuePair<string, object?>(TelemetryAttributes.StripeOutcome, outcome));

    public void CountDeadLetters(int buckets)
    {
        if (buckets > 0)
        {
            _deadLetters.Add(buckets);
        }
    }

    /// <param name="outcome"><c>processed</c>, <c>duplicate</c> or <c>rejected</c> (signature or body refused).</param>
    public void CountWebhookEvent(string eventType, string outcome) =>
        _webhookEvents.Add(1, new KeyValuePair<string, object?>(TelemetryAttributes.WebhookEventType, eventType), new KeyValuePair<string, object?>(TelemetryAttributes.WebhookOutcome, outcome));

    /// <param name="outcome"><c>completed</c> or <c>failed</c>.</param>
    public void CountBatchLine(string outcome) =>
        _batchLines.Add(1, new KeyValuePair<string, object?>(TelemetryAttributes.BatchLineOutcome, outcome));

    /// <param name="code">The error's code (its type when it has none).</param>
    public void CountApiError(int status, string code, string route) =>
        _apiErrors.Add(1, new KeyValuePair<string, object?>(TelemetryAttributes.HttpStatusCode, status), new KeyValuePair<string, object?>(TelemetryAttributes.ErrorType, code), new KeyValuePair<string, object?>(TelemetryAttributes.HttpRoute, route));

    private GenerationCapacity? Capacity() => Resolve<IGenerationCapacity>()?.Capacity;

    private IEnumerable<Measurement<int>> ObserveQueue()
    {
        if (Capacity() is not { } capacity)
        {
            return [];
        }

        return
        [
            new(capacity.LiveWaiting, new KeyValuePair<string, object?>(TelemetryAttributes.RequestType, TelemetryAttributes.Live)),
            new(capacity.BatchWaiting, new KeyValuePair<string, object?>(TelemetryAttributes.RequestType, TelemetryAttributes.Batch)),
        ];
    }

    private IEnumerable<Measurement<int>> ObserveSlotsInUse() => Capacity() is { } capacity ? [new(capacity.Running)] : [];

    private IEnumerable<Measurement<int>> ObserveSlotLimit() => Capacity() is { } capacity ? [new(capacity.Limit)] : [];

    private IEnumerable<Measurement<long>> ObservePending() => Resolve<IExportBacklog>()?.Latest() is { } backlog ? [new(backlog.PendingRecords)] : [];

    private IEnumerable<Measurement<double>> ObserveOldestAge() =>
        Resolve<IExportBacklog>()?.Latest() is { } backlog ? [new(backlog.OldestAge?.TotalSeconds ?? 0)] : [];

    // Resolved when observed, so a feature's singleton is built only once something collects (and never for a host without it).
    private T? Resolve<T>()
        where T : class
    {
        try
        {
            return _services.GetService<T>();
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>The instrument names (README, Observability).</summary>
    public static class Names
    {
        public const string RequestDuration = "gen_ai.server.request.duration";
        public const string TimeToFirstToken = "gen_ai.server.time_to_first_token";
        public const string TimePerOutputToken = "gen_ai.server.time_per_output_token";
        public const string GeneratedTokens = "serverless.generation.output_tokens";
        public const string Tokens = "serverless.tokens";
        public const string QueueWait = "serverless.queue.duration";
        public const string QueueLength = "serverless.queue.length";
        public const string SlotsInUse = "serverless.generation.slots.in_use";
        public const string SlotsLimit = "serverless.generation.slots.limit";
        public const string ModelLoadDuration = "serverless.model.load.duration";
        public const string ColdStarts = "serverless.model.cold_starts";
        public const string LedgerCommitDuration = "serverless.ledger.commit.duration";
        public const string LedgerCommitSize = "serverless.ledger.commit.size";
        public const string OutboxPending = "serverless.billing.outbox.pending";
        public const string OutboxOldestAge = "serverless.billing.outbox.oldest_age";
        public const string StripeCalls = "serverless.stripe.calls";
        public const string DeadLetters = "serverless.billing.dead_letters";
        public const string WebhookEvents = "serverless.webhook.events";
        public const string BatchLines = "serverless.batch.lines";
        public const string ApiErrors = "serverless.api.errors";
    }
}
