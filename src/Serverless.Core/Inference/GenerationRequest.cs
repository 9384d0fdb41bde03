namespace Serverless.Core.Inference;

/// <summary>The parameters shared by /v1/chat/completions and /v1/completions, validated.</summary>
public sealed record GenerationRequest
{
    public required string Model { get; init; }

    /// <summary>Upper bound on generated tokens, from max_completion_tokens or max_tokens; null means "what fits".</summary>
    public int? MaxTokens { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    public int? TopK { get; init; }

    public long? Seed { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    public string? User { get; init; }

    /// <summary>response_format json_object or json_schema: the output is constrained to it; null for free text.</summary>
    public OutputFormat? Format { get; init; }

    /// <summary>The tools a chat request declared and how the model may use them; null when it declared none.</summary>
    public ToolSet? Tools { get; init; }
}

/// <summary>A conversation turn: an assistant turn may carry the calls it made, a tool turn answers one of them.</summary>
public sealed record ChatMessage(string Role, string Content)
{
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];

    /// <summary>For a <c>tool</c> message: the id of the call it answers.</summary>
    public string? ToolCallId { get; init; }
}

public sealed record ChatCompletionRequest(GenerationRequest Options, IReadOnlyList<ChatMessage> Messages);

/// <summary>A completion prompt: either text or token ids the caller already has.</summary>
public sealed record CompletionRequest(GenerationRequest Options, string? Prompt, IReadOnlyList<int>? PromptTokens);
