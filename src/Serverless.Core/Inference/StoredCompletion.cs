using System.Text.Json.Serialization;

namespace Serverless.Core.Inference;

/// <summary>A completed generation as stored for Idempotency-Key replays: enough to answer again, whole or streamed.</summary>
public sealed record StoredCompletion(CompletionKind Kind, string Id, long Created, string Model, string RequestId)
{
    public string Text { get; init; } = string.Empty;

    /// <summary>The calls the model made (finish reason tool_calls); the text is then empty.</summary>
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    public FinishReason Finish { get; init; }

    public int PromptTokens { get; init; }

    public int CompletionTokens { get; init; }

    public long PriceVersion { get; init; }

    public long CostMicroUsd { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(StoredCompletion))]
internal sealed partial class StoredCompletionJsonContext : JsonSerializerContext;
