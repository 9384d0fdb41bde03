using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Core.Inference;

namespace Serverless.Core.Jobs;

/// <summary>
/// The first step of a batch: reads the input file once, refuses the batch when the file is not JSONL at all (or is
/// empty, or too long), and otherwise splits it: valid lines into chunks for the activities, refused lines
/// (malformed JSON, no custom_id, a repeated custom_id, a method or url other than the batch's) into error lines.
/// Deterministic, so running it again after a crash writes the same chunks.
/// </summary>
public sealed class BatchValidation(BatchStore batches, FileStore files, BatchWorkspace workspace, IOptions<BatchOptions> options, IOptions<InferenceOptions> inference)
{
    // A line carries the request body plus custom_id, method and url.
    private const int LineOverhead = 64 * 1024;

    private readonly BatchOptions _options = options.Value;

    public async Task<BatchPlan> ValidateAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var job = await batches.LoadAsync(batchId, cancellationToken);
        if (job.Status == BatchStatus.Failed)
        {
            return new BatchPlan(false, 0, job.ExpiresAt, _options.MaxParallelChunks);
        }

        var input = await files.FindAsync(job.CustomerId, job.InputFileId, cancellationToken);
        if (input is null)
        {
            return await FailAsync(job, 0, new BatchError("input_file_missing", $"The input file {job.InputFileId} was deleted before the batch started."));
        }

        int maxLineBytes = (int)Math.Min(int.MaxValue - LineOverhead, inference.Value.MaxRequestBodyBytes) + LineOverhead;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var invalid = new List<byte[]>();
        var chunk = new List<byte[]>(_options.ChunkSize);
        int total = 0;
        int objects = 0;
        int chunks = 0;
        await using (var content = await files.OpenReadAsync(input, cancellationToken))
        {
            await foreach (var line in JsonlReader.ReadAsync(content, maxLineBytes, cancellationToken))
            {
                if (line.IsBlank)
                {
                    continue;
                }

                int index = total++;
                if (total > _options.MaxLines)
                {
                    return await FailAsync(job, 0, new BatchError("too_many_requests", string.Create(CultureInfo.InvariantCulture,
                        $"The input file has more than {_options.MaxLines} requests; split it into several batches.")));
                }

                var refusal = Check(line, job.Endpoint, seen, out string? customId, out var body, ref objects);
                if (refusal is { } error)
                {
                    invalid.Add(BatchLines.Entry(index, false, BatchLines.Error(batchId, index, customId, error.Code,
                        string.Create(CultureInfo.InvariantCulture, $"Line {line.Number}: {error.Message}"))));
                    continue;
                }

                chunk.Add(BatchLines.ChunkLine(index, customId!, body));
                if (chunk.Count == _options.ChunkSize)
                {
                    await workspace.WriteLinesAsync(BatchWorkspace.ChunkBlob(batchId, chunks++), chunk, cancellationToken);
                    chunk.Clear();
                }
            }
        }

        if (total == 0)
        {
            return await FailAsync(job, 0, new BatchError("empty_file", "The input file has no requests."));
        }

        if (objects == 0)
        {
            return await FailAsync(job, total, new BatchError("invalid_json_lines",
                "The input file is not JSONL: no line is a JSON object. Each line must be one request: {\"custom_id\": ..., \"method\": \"POST\", \"url\": ..., \"body\": {...}}."));
        }

        if (chunk.Count > 0)
        {
            await workspace.WriteLinesAsync(BatchWorkspace.ChunkBlob(batchId, chunks++), chunk, cancellationToken);
        }

        await workspace.WriteLinesAsync(BatchWorkspace.InvalidBlob(batchId), invalid, cancellationToken);
        await batches.MarkValidatedAsync(batchId, total, invalid.Count, chunks, cancellationToken);
        return new BatchPlan(true, chunks, job.ExpiresAt, _options.MaxParallelChunks);
    }

    private static BatchError? Check(JsonlLine line, string endpoint, HashSet<string> seen, out string? customId, out JsonElement body, ref int objects)
    {
        customId = null;
        body = default;
        if (line.TooLong)
        {
            return new BatchError("request_too_large", "The line is longer than the largest request this service accepts.");
        }

        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(line.Bytes);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return new BatchError("invalid_json_line", $"The line is not valid JSON: {ex.Message}");
        }

        if (JsonText.FindInvalid(line.Bytes) is { } invalid)
        {
            return new BatchError("invalid_json_line", $"The line is not valid JSON: {invalid}.");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return new BatchError("invalid_json_line", "The line is not a JSON object.");
        }

        objects++;
        if (root.TryGetProperty("custom_id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 } value)
        {
            customId = value;
        }
        else
        {
            return new BatchError("missing_custom_id", "Every request needs a non-empty string 'custom_id'.");
        }

        if (!seen.Add(customId))
        {
            return new BatchError("duplicate_custom_id", $"The custom_id '{customId}' is used by an earlier line; custom_id values must be unique within a batch.");
        }

        if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String || method.GetString() != "POST")
        {
            return new BatchError("invalid_method", "The method must be \"POST\".");
        }

        if (!root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String || url.GetString() != endpoint)
        {
            return new BatchError("invalid_url", $"The url must be the batch's endpoint, \"{endpoint}\".");
        }

        if (!root.TryGetProperty("body", out body) || body.ValueKind != JsonValueKind.Object)
        {
            return new BatchError("invalid_body", "The body must be a JSON object: the request to send to the url.");
        }

        return null;
    }

    private async Task<BatchPlan> FailAsync(BatchJob job, int total, BatchError error)
    {
        await batches.MarkFailedAsync(job.Id, new BatchErrors([error]), total);
        return new BatchPlan(false, 0, job.ExpiresAt, _options.MaxParallelChunks);
    }
}
