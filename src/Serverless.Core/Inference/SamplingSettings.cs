namespace Serverless.Core.Inference;

/// <summary>How the next token is chosen. Temperature 0 means greedy decoding.</summary>
public sealed record SamplingSettings(int MaxTokens, double? Temperature = null, double? TopP = null, int? TopK = null, long? Seed = null)
{
    public bool Greedy => Temperature is 0;
}
