using System.Text.Json.Serialization;

namespace Serverless.Core.Jobs;

/// <summary>OpenAI's batch object.</summary>
public sealed record BatchObject(
    string Id,
    string Endpoint,
    BatchErrors? Errors,
    string InputFileId,
    string CompletionWindow,
    string Status,
    string? OutputFileId,
    string? ErrorFileId,
    long CreatedAt,
    long? InProgressAt,
    long ExpiresAt,
    long? FinalizingAt,
    long? CompletedAt,
    long? FailedAt,
    long? ExpiredAt,
    long? CancellingAt,
    long? CancelledAt,
    BatchRequestCounts RequestCounts,
    IReadOnlyDictionary<string, string>? Metadata)
{
    [JsonPropertyOrder(-1)]
    public string Object => "batch";
}

public sealed record BatchRequestCounts(int Total, int Completed, int Failed);

public sealed record BatchErrors(IReadOnlyList<BatchError> Data)
{
    [JsonPropertyOrder(-1)]
    public string Object => "list";
}

public sealed record BatchError(string Code, string Message, string? Param = null, int? Line = null);

public sealed record BatchList(IReadOnlyList<BatchObject> Data, bool HasMore)
{
    [JsonPropertyOrder(-1)]
    public string Object => "list";

    public string? FirstId => Data.Count > 0 ? Data[0].Id : null;

    public string? LastId => Data.Count > 0 ? Data[^1].Id : null;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BatchObject))]
[JsonSerializable(typeof(BatchList))]
[JsonSerializable(typeof(BatchErrors))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class JobsJsonContext : JsonSerializerContext;
