namespace Serverless.Core.Files;

/// <summary>OpenAI's file purposes that this service stores.</summary>
public static class FilePurpose
{
    /// <summary>An uploaded batch input file (JSONL of requests).</summary>
    public const string Batch = "batch";

    /// <summary>An output or error file written by a batch.</summary>
    public const string BatchOutput = "batch_output";
}
