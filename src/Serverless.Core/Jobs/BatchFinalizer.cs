using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Core.Files;

namespace Serverless.Core.Jobs;

/// <summary>
/// The last step of a batch: merges the lines validation refused and every chunk's results into the output and error
/// files, lists the lines that never
/// ran (cancelled, expired) in the error file, and sets the final status. File ids are derived from the batch id, so
/// finalizing twice rewrites the same two files.
/// </summary>
public sealed partial class BatchFinalizer(BatchStore batches, BatchWorkspace workspace, FileStore files, ILogger<BatchFinalizer> logger)
{
    private static readonly byte[] Newline = "\n"u8.ToArray();

    public async Task<string> FinalizeAsync(FinalizeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var job = await batches.LoadAsync(request.BatchId, cancellationToken);
        if (BatchStatus.IsFinal(job.Status))
        {
            await CleanUpAsync(job.Id, cancellationToken);
            return job.Status;
        }

        await batches.MarkFinalizingAsync(job.Id, cancellationToken);
        // A cancel that came in while the last chunks finished still counts: the customer asked for it.
        string status = job.Status == BatchStatus.Cancelling || (await batches.StatusAsync(job.Id, cancellationToken)) == BatchStatus.Cancelling
            ? BatchStatus.Cancelled
            : request.Stopped ?? BatchStatus.Completed;
        var (notRunCode, notRunMessage) = status switch
        {
            BatchStatus.Cancelled => (BatchLines.CancelledCode, "The batch was cancelled before this request ran."),
            BatchStatus.Expired => (BatchLines.ExpiredCode, "The batch's completion window ended before this request ran."),
            _ => ("batch_incomplete", "This request was not run."),
        };

        int completed = 0;
        int failed = 0;
        int errors = 0;
        string outputId = DerivedFileId(job.Id, "output");
        string errorId = DerivedFileId(job.Id, "errors");
        var output = await files.WriteAsync(job.CustomerId, outputId, $"{job.Id}_output.jsonl", FilePurpose.BatchOutput, async outputStream =>
        {
            var error = await files.WriteAsync(job.CustomerId, errorId, $"{job.Id}_error.jsonl", FilePurpose.BatchOutput, async errorStream =>
            {
                await foreach (var line in workspace.ReadLinesAsync(BatchWorkspace.InvalidBlob(job.Id), cancellationToken))
                {
                    if (BatchResultEntry.TryParse(line.Bytes!, out var entry))
                    {
                        await WriteLineAsync(errorStream, entry.Line, cancellationToken);
                        failed++;
                        errors++;
                    }
                }

                for (int chunk = 0; chunk < job.Chunks; chunk++)
                {
                    var results = new Dictionary<int, BatchResultEntry>();
                    await foreach (var line in workspace.ReadLinesAsync(BatchWorkspace.ResultsBlob(job.Id, chunk), cancellationToken))
                    {
                        if (BatchResultEntry.TryParse(line.Bytes!, out var entry))
                        {
                            results[entry.Index] = entry;
                        }
                    }

                    await foreach (var line in workspace.ReadLinesAsync(BatchWorkspace.ChunkBlob(job.Id, chunk), cancellationToken))
                    {
                        var (index, customId) = IndexOf(line.Bytes!);
                        if (!results.TryGetValue(index, out var entry))
                        {
                            await WriteLineAsync(errorStream, BatchLines.Error(job.Id, index, customId, notRunCode, notRunMessage), cancellationToken);
                            errors++;
                        }
                        else if (entry.Ok)
                        {
                            await WriteLineAsync(outputStream, entry.Line, cancellationToken);
                            completed++;
                        }
                        else
                        {
                            await WriteLineAsync(errorStream, entry.Line, cancellationToken);
                            failed++;
                            errors++;
                        }
                    }
                }
            }, cancellationToken);
        }, cancellationToken);

        // OpenAI leaves a file id null when there is nothing in it.
        string? outputFileId = output.Bytes > 0 ? output.Id : null;
        string? errorFileId = errors > 0 ? errorId : null;
        if (outputFileId is null)
        {
            await files.DeleteAsync(job.CustomerId, outputId, cancellationToken);
        }

        if (errorFileId is null)
        {
            await files.DeleteAsync(job.CustomerId, errorId, cancellationToken);
        }

        await batches.MarkFinishedAsync(job.Id, status, completed, failed, outputFileId, errorFileId, cancellationToken);
        LogFinished(logger, job.Id, status, completed, failed);
        await CleanUpAsync(job.Id, cancellationToken);
        return status;
    }

    /// <summary>A file id that is the same every time for the same batch and kind, in OpenAI's shape.</summary>
    public static string DerivedFileId(string batchId, string kind)
    {
        const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(batchId + ":" + kind));
        var id = new StringBuilder("file-", 29);
        for (int i = 0; i < 24; i++)
        {
            id.Append(Alphabet[hash[i] % Alphabet.Length]);
        }

        return id.ToString();
    }

    private static (int Index, string CustomId) IndexOf(byte[] chunkLine)
    {
        using var document = JsonDocument.Parse(chunkLine);
        var root = document.RootElement;
        return (root.GetProperty("index").GetInt32(), root.GetProperty("custom_id").GetString()!);
    }

    private static async Task WriteLineAsync(Stream stream, ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(line, cancellationToken);
        await stream.WriteAsync(Newline, cancellationToken);
    }

    // The files now hold every result: the stored output lines and the working blobs are no longer needed.
    private async Task CleanUpAsync(string batchId, CancellationToken cancellationToken)
    {
        await batches.DeleteLineResultsAsync(batchId, cancellationToken);
        try
        {
            await workspace.DeleteAsync(batchId, cancellationToken);
        }
        catch (Azure.RequestFailedException ex)
        {
            LogCleanUpFailed(logger, ex, batchId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} {Status}: {Completed} completed, {Failed} failed")]
    private static partial void LogFinished(ILogger logger, string batchId, string status, int completed, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch {BatchId}: working data could not be deleted")]
    private static partial void LogCleanUpFailed(ILogger logger, Exception exception, string batchId);
}
