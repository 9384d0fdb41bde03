using System.Text.Json;

namespace Serverless.Integration.Tests.Faults;

/// <summary>The usage a client received for a completed request, and the request id the service gave it.</summary>
public sealed record ClientUsage(string RequestId, long PromptTokens, long CompletionTokens, string FinishReason)
{
    public static ClientUsage From(string requestId, JsonElement usage, string finishReason) =>
        new(requestId, usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64(), finishReason);
}
