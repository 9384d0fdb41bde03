namespace Serverless.Benchmarks;

/// <summary>One generation as a client saw it: what came back and how long it took.</summary>
/// <remarks>
/// Cpu is what the run cost in CPU time: the benchmark process for the raw loop; the service process
/// (ServerCpu) plus the client for a request. Zero where it was not measured.
/// </remarks>
internal sealed record GenerationRun(int PromptTokens, int CompletionTokens, string Text, TimeSpan Elapsed, TimeSpan FirstToken, int Chunks = 0)
{
    public TimeSpan Cpu { get; init; }

    public TimeSpan ServerCpu { get; init; }

    /// <summary>The service's own account of how long the request waited on the ledger (Server-Timing "ledger"), when it sent one.</summary>
    public TimeSpan? Ledger { get; init; }

    public double TokensPerSecond => CompletionTokens / Elapsed.TotalSeconds;
}
