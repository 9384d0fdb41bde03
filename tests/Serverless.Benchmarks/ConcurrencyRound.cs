namespace Serverless.Benchmarks;

/// <summary>One round of N simultaneous requests: every token they produced, and the wall time until the last finished.</summary>
internal sealed record ConcurrencyRound(int Tokens, TimeSpan Elapsed)
{
    public double TokensPerSecond => Tokens / Elapsed.TotalSeconds;
}
