namespace Serverless.Core.Inference;

public enum FinishReason
{
    /// <summary>End-of-text token or a stop sequence.</summary>
    Stop,

    /// <summary>max_tokens reached.</summary>
    Length,

    /// <summary>The caller went away; generation stopped early.</summary>
    Cancelled,
}
