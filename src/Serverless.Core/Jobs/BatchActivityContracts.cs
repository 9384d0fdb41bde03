namespace Serverless.Core.Jobs;

/// <summary>What validation found: whether the batch goes on, into how many chunks, until when, and how many chunks may run at once.</summary>
public sealed record BatchPlan(bool Valid, int Chunks, DateTimeOffset ExpiresAt, int MaxParallelChunks);

public sealed record ChunkRequest(string BatchId, int Chunk);

/// <summary>A chunk's end: its lines counted, and why it stopped early, if it did (<see cref="BatchStatus.Cancelled"/> or <see cref="BatchStatus.Expired"/>).</summary>
public sealed record ChunkOutcome(int Completed, int Failed, string? Stopped);

public sealed record FinalizeRequest(string BatchId, string? Stopped);

public sealed record FailRequest(string BatchId, string Message);

/// <summary>The activities the orchestrator calls, by name; each host binds these names to <see cref="BatchActivities"/>.</summary>
public static class BatchActivityNames
{
    public const string Validate = "BatchValidate";
    public const string RunChunk = "BatchRunChunk";
    public const string Finalize = "BatchFinalize";
    public const string Fail = "BatchFail";
}
