using System.Diagnostics;
using Serverless.Core.Http;
using Serverless.Core.Metering;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Inference;

/// <summary>
/// What one completion (an API request or a batch line) reports: its <c>chat {model}</c> / <c>text_completion {model}</c>
/// span with the GenAI attributes, the model and outcome on the API request's span, and when it ends the GenAI server
/// metrics (duration, time to first token, time per output token). Never the prompt or the completion text.
/// </summary>
internal sealed class CompletionTelemetry : IDisposable
{
    private readonly ServerlessMetrics _metrics;
    private readonly string _operation;
    private readonly string _model;
    private readonly string _requestType;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Activity? _span;

    // The API request's span (the dispatcher's), which carries the model and outcome too; null for a batch line.
    private readonly Activity? _request;
    private TextGeneration? _generation;
    private long _generationEnded;
    private string? _outcome;
    private string? _errorType;
    private bool _completed;

    public CompletionTelemetry(CompletionSink sink, bool knownModel, ServerlessMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _metrics = metrics;
        _operation = sink.Kind == CompletionKind.Chat ? "chat" : "text_completion";
        _model = sink.Request.Model;
        _requestType = sink.Background ? TelemetryAttributes.Batch : TelemetryAttributes.Live;
        if (!ServerlessTelemetry.Source.HasListeners())
        {
            return;
        }

        if (!sink.Background && Activity.Current is { IsAllDataRequested: true } request)
        {
            _request = request;
            request.SetTag(TelemetryAttributes.RequestModel, _model);
        }

        // The model is in the name only once it is known to exist: a name is not a place for whatever a client sent.
        _span = ServerlessTelemetry.Start(knownModel ? $"{_operation} {_model}" : _operation);
        if (_span is { IsAllDataRequested: true } span)
        {
            span.SetTag(TelemetryAttributes.OperationName, _operation);
            span.SetTag(TelemetryAttributes.RequestModel, _model);
            span.SetTag(TelemetryAttributes.RequestId, sink.RequestId);
            span.SetTag(TelemetryAttributes.CustomerId, sink.Caller.CustomerId);
            span.SetTag(TelemetryAttributes.KeyId, sink.Caller.KeyId);
            span.SetTag(TelemetryAttributes.RequestType, _requestType);
        }
    }

    /// <summary>The prompt was tokenized and fits: what the model will be asked for.</summary>
    public void Prepared(int maxTokens) => _span?.SetTag(TelemetryAttributes.RequestMaxTokens, maxTokens);

    public void QueueWaited(TimeSpan waited) => _metrics.RecordQueueWait(waited, _requestType);

    /// <summary>The token loop ended (however it ended); the first call counts.</summary>
    public void Generated(TextGeneration generation)
    {
        if (_generation is null)
        {
            _generation = generation;
            _generationEnded = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The finished response: its id and why it finished.</summary>
    public void Completed(StoredCompletion completion)
    {
        _completed = true;
        if (_span is { IsAllDataRequested: true } span)
        {
            span.SetTag(TelemetryAttributes.ResponseId, completion.Id);
            span.SetTag(TelemetryAttributes.ResponseModel, completion.Model);
            span.SetTag(TelemetryAttributes.ResponseFinishReasons, new[] { FinishReasonName(completion.Finish) });
        }
    }

    /// <summary>How the ledger recorded it; anything but completed or length is an error for the metrics.</summary>
    public void Settled(string outcome) => _outcome = outcome;

    public void Failed(Exception exception)
    {
        _errorType = exception switch
        {
            ApiException api => api.Code ?? api.Type,
            OperationCanceledException => ApiDispatcher.ClientGone,
            _ => exception.GetType().FullName,
        };
    }

    public void Dispose()
    {
        var ended = Stopwatch.GetTimestamp();
        string? errorType = _errorType ?? (_outcome is null or UsageOutcome.Completed or UsageOutcome.Length ? null : _outcome);
        _metrics.RecordRequest(Stopwatch.GetElapsedTime(_started, ended), _operation, _model, _requestType, errorType);
        if (_generation is { } generation)
        {
            _metrics.RecordGeneratedTokens(generation.CompletionTokens, _model, FinishReasonName(generation.FinishReason));
            if (generation.FirstTokenAt != 0)
            {
                var perToken = generation.CompletionTokens > 1
                    ? Stopwatch.GetElapsedTime(generation.FirstTokenAt, _generationEnded) / (generation.CompletionTokens - 1)
                    : (TimeSpan?)null;
                _metrics.RecordTokenTimes(Stopwatch.GetElapsedTime(_started, generation.FirstTokenAt), perToken, _operation, _model);
            }
        }

        if (_span is { IsAllDataRequested: true } span)
        {
            if (_generation is { } done)
            {
                span.SetTag(TelemetryAttributes.UsageInputTokens, done.PromptTokens);
                span.SetTag(TelemetryAttributes.UsageOutputTokens, done.CompletionTokens);
                if (!_completed)
                {
                    // Stopped before a response was made (the client left, generation broke): how the generator ended.
                    span.SetTag(TelemetryAttributes.ResponseFinishReasons, new[] { FinishReasonName(done.FinishReason) });
                }
            }

            span.SetTag(TelemetryAttributes.Outcome, _outcome);
            if (errorType is not null)
            {
                span.SetTag(TelemetryAttributes.ErrorType, errorType);
                span.SetStatus(ActivityStatusCode.Error);
            }
        }

        _request?.SetTag(TelemetryAttributes.Outcome, _outcome);
        _span?.Dispose();
    }

    /// <summary>OpenAI's finish_reason for a generation's end ("cancelled" when the caller went away).</summary>
    public static string FinishReasonName(FinishReason finish) => finish switch
    {
        FinishReason.Length => "length",
        FinishReason.Cancelled => "cancelled",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };
}
