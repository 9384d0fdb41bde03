using System.Diagnostics.Metrics;

namespace Serverless.Core.Inference;

/// <summary>
/// Generation metrics on the "Serverless.Inference" meter: tokens in and out and how each generation
/// ended, tagged by model, for dashboards (OpenTelemetry, dotnet-counters) and for tests.
/// </summary>
public sealed class InferenceMetrics : IDisposable
{
    public const string MeterName = "Serverless.Inference";

    private readonly Meter _meter;
    private readonly Counter<long> _promptTokens;
    private readonly Counter<long> _completionTokens;
    private readonly Histogram<long> _generationTokens;

    public InferenceMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName);
        _promptTokens = _meter.CreateCounter<long>("serverless.prompt_tokens", "{token}", "Prompt tokens of generations");
        _completionTokens = _meter.CreateCounter<long>("serverless.completion_tokens", "{token}", "Tokens generated");
        _generationTokens = _meter.CreateHistogram<long>("serverless.generation.completion_tokens", "{token}", "Tokens generated per request, tagged with how it finished");
    }

    public void Record(string model, int promptTokens, int completionTokens, FinishReason finish)
    {
        var modelTag = new KeyValuePair<string, object?>("model", model);
        _promptTokens.Add(promptTokens, modelTag);
        _completionTokens.Add(completionTokens, modelTag);
        _generationTokens.Record(completionTokens, modelTag, new KeyValuePair<string, object?>("finish", FinishTag(finish)));
    }

    public static string FinishTag(FinishReason finish) => finish switch
    {
        FinishReason.Length => "length",
        FinishReason.Cancelled => "cancelled",
        _ => "stop",
    };

    public void Dispose() => _meter.Dispose();
}
