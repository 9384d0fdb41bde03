namespace Serverless.Core.Jobs;

/// <summary>The routes a batch may target.</summary>
public static class BatchEndpoints
{
    public const string ChatCompletions = "/v1/chat/completions";
    public const string Completions = "/v1/completions";

    public static bool IsSupported(string endpoint) => endpoint is ChatCompletions or Completions;
}
