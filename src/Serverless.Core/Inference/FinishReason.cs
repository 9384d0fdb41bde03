namespace Serverless.Core.Inference;

public enum FinishReason
{
    /// <summary>End-of-text token or a stop sequence.</summary>
    Stop,

    /// <summary>max_tokens reached.</summary>
    Length,

    /// <summary>The caller went away; generation stopped early.</summary>
    Cancelled,

    /// <summary>The output is tool calls (set after generation, when the finished text parsed as calls).</summary>
    ToolCalls,
}
