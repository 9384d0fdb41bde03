using System.Globalization;
using Microsoft.Extensions.Options;
using Serverless.Core.Files;
using Serverless.Core.Inference;

namespace Serverless.Core.Jobs;

/// <summary>
/// The first step of a batch: reads the input file once (through <see cref="BatchInputScanner"/>, in bounded memory),
/// refuses the batch when the file is not JSONL at all (or is empty, or too long), and otherwise splits it: valid lines
/// into chunks for the activities, refused lines (malformed JSON, no custom_id or one over the length cap, a repeated
/// custom_id, a method or url other than the batch's) into error lines.
/// Deterministic, so running it again after a crash writes the same chunks.
/// </summary>
public sealed class BatchValidation(BatchStore batches, FileStore files, BatchWorkspace workspace, IOptions<BatchOptions> options, IOptions<InferenceOptions> inference)
{
    // A line carries the request body plus custom_id, method and url.
    private const int LineOverhead = 64 * 1024;

    private static readonly byte[] Newline = "\n"u8.ToArray();

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
        var scanner = new BatchInputScanner(batchId, job.Endpoint, maxLineBytes, _options.MaxCustomIdLength, _options.MaxLines);
        var chunk = new List<byte[]>(_options.ChunkSize);
        int chunks = 0;
        BatchScan scan;
        // Refused lines stream to their blob as they are found: nothing here grows with the input.
        await using (var invalid = await workspace.OpenWriteAsync(BatchWorkspace.InvalidBlob(batchId), cancellationToken))
        await using (var content = await files.OpenReadAsync(input, cancellationToken))
        {
            scan = await scanner.ScanAsync(
                content,
                async (index, customId, body) =>
                {
                    chunk.Add(BatchLines.ChunkLine(index, customId, body));
                    if (chunk.Count == _options.ChunkSize)
                    {
                        await workspace.WriteLinesAsync(BatchWorkspace.ChunkBlob(batchId, chunks++), chunk, cancellationToken);
                        chunk.Clear();
                    }
                },
                async entry =>
                {
                    await invalid.WriteAsync(entry, cancellationToken);
                    await invalid.WriteAsync(Newline, cancellationToken);
                },
                cancellationToken);
        }

        if (scan.TooManyLines)
        {
            return await FailAsync(job, 0, new BatchError("too_many_requests", string.Create(CultureInfo.InvariantCulture,
                $"The input file has more than {_options.MaxLines} requests; split it into several batches.")));
        }

        if (scan.Total == 0)
        {
            return await FailAsync(job, 0, new BatchError("empty_file", "The input file has no requests."));
        }

        if (scan.Objects == 0)
        {
            return await FailAsync(job, scan.Total, new BatchError("invalid_json_lines",
                "The input file is not JSONL: no line is a JSON object. Each line must be one request: {\"custom_id\": ..., \"method\": \"POST\", \"url\": ..., \"body\": {...}}."));
        }

        if (chunk.Count > 0)
        {
            await workspace.WriteLinesAsync(BatchWorkspace.ChunkBlob(batchId, chunks++), chunk, cancellationToken);
        }

        await batches.MarkValidatedAsync(batchId, scan.Total, scan.Invalid, chunks, cancellationToken);
        return new BatchPlan(true, chunks, job.ExpiresAt, _options.MaxParallelChunks);
    }

    private async Task<BatchPlan> FailAsync(BatchJob job, int total, BatchError error)
    {
        await batches.MarkFailedAsync(job.Id, new BatchErrors([error]), total);
        return new BatchPlan(false, 0, job.ExpiresAt, _options.MaxParallelChunks);
    }
}
