using System.Globalization;
using System.Text.Json;
using Serverless.Core.Http;

namespace Serverless.Core.Jobs;

/// <summary>A POST /v1/batches body, checked: what the batch runs, and its metadata as the JSON it is stored as.</summary>
public sealed record BatchRequest(string InputFileId, string Endpoint, string CompletionWindow, string? Metadata)
{
    /// <summary>The one completion window OpenAI offers.</summary>
    public const string SupportedCompletionWindow = "24h";

    public const int MaxMetadataPairs = 16;
    public const int MaxMetadataKeyLength = 64;
    public const int MaxMetadataValueLength = 512;

    /// <summary>
    /// Reads {input_file_id, endpoint, completion_window: "24h", metadata}: a missing or wrong field is a 400 naming it,
    /// checked in that order.
    /// </summary>
    public static BatchRequest Read(JsonElement root)
    {
        string inputFileId = JsonFields.RequiredString(root, "input_file_id");
        string endpoint = JsonFields.RequiredString(root, "endpoint");
        if (!BatchEndpoints.IsSupported(endpoint))
        {
            throw ApiException.InvalidValue("endpoint",
                $"Invalid value for 'endpoint': '{endpoint}'. Supported values are: '{BatchEndpoints.ChatCompletions}' and '{BatchEndpoints.Completions}'.");
        }

        string window = JsonFields.RequiredString(root, "completion_window");
        if (window != SupportedCompletionWindow)
        {
            throw ApiException.InvalidValue("completion_window", $"Invalid value for 'completion_window': '{window}'. Supported values are: '{SupportedCompletionWindow}'.");
        }

        return new BatchRequest(inputFileId, endpoint, window, ReadMetadata(root));
    }

    private static string? ReadMetadata(JsonElement root)
    {
        if (!JsonFields.TryGet(root, "metadata", out var metadata))
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType("metadata", "an object", JsonFields.Describe(metadata));
        }

        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in metadata.EnumerateObject())
        {
            if (pair.Value.ValueKind != JsonValueKind.String)
            {
                throw ApiException.InvalidType($"metadata.{pair.Name}", "a string", JsonFields.Describe(pair.Value));
            }

            if (pair.Name.Length > MaxMetadataKeyLength || pair.Value.GetString()!.Length > MaxMetadataValueLength)
            {
                throw ApiException.InvalidValue("metadata", string.Create(CultureInfo.InvariantCulture,
                    $"Metadata keys are at most {MaxMetadataKeyLength} characters and values at most {MaxMetadataValueLength}."));
            }

            pairs[pair.Name] = pair.Value.GetString()!;
        }

        if (pairs.Count > MaxMetadataPairs)
        {
            throw ApiException.InvalidValue("metadata", string.Create(CultureInfo.InvariantCulture, $"Metadata has at most {MaxMetadataPairs} pairs."));
        }

        return JsonSerializer.Serialize(pairs, JobsJsonContext.Default.DictionaryStringString);
    }
}
