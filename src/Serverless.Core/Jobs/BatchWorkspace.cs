using System.Globalization;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Core.Files;

namespace Serverless.Core.Jobs;

/// <summary>
/// A batch's working data in blob storage, next to the files: the valid lines split into chunks, each chunk's results
/// (an append blob: one block per finished line, written before the line's usage record), and the lines validation
/// refused. Deleted once the batch has its output and error files.
/// </summary>
public sealed class BatchWorkspace(FileStore files)
{
    // Well under the smallest append block limit of any service version.
    private const int MaxBlockBytes = 4 * 1024 * 1024;

    public static string ChunkBlob(string batchId, int chunk) => string.Create(CultureInfo.InvariantCulture, $"jobs/{batchId}/chunks/{chunk:D6}.jsonl");

    public static string ResultsBlob(string batchId, int chunk) => string.Create(CultureInfo.InvariantCulture, $"jobs/{batchId}/results/{chunk:D6}.jsonl");

    public static string InvalidBlob(string batchId) => $"jobs/{batchId}/invalid.jsonl";

    /// <summary>Replaces a blob with the given lines.</summary>
    public async Task WriteLinesAsync(string blobName, IEnumerable<byte[]> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var blob = (await files.ContainerAsync()).GetBlockBlobClient(blobName);
        await using var stream = await blob.OpenWriteAsync(overwrite: true, cancellationToken: cancellationToken);
        foreach (var line in lines)
        {
            await stream.WriteAsync(line, cancellationToken);
            stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>A blob's lines; none when it does not exist. A torn last line (a crash mid-append) is skipped by the callers' parsing.</summary>
    public async IAsyncEnumerable<JsonlLine> ReadLinesAsync(string blobName, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var blob = (await files.ContainerAsync()).GetBlobClient(blobName);
        Stream content;
        try
        {
            content = (await blob.DownloadStreamingAsync(cancellationToken: cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            yield break;
        }

        await using (content)
        {
            await foreach (var line in JsonlReader.ReadAsync(content, int.MaxValue, cancellationToken))
            {
                if (!line.IsBlank)
                {
                    yield return line;
                }
            }
        }
    }

    /// <summary>Opens a chunk's results for appending (created empty the first time).</summary>
    public async Task<ChunkResults> OpenResultsAsync(string batchId, int chunk, CancellationToken cancellationToken = default)
    {
        var blob = (await files.ContainerAsync()).GetAppendBlobClient(ResultsBlob(batchId, chunk));
        await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        return new ChunkResults(blob);
    }

    /// <summary>Removes everything the batch kept while it ran (best effort: left-overs only cost storage).</summary>
    public async Task DeleteAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var container = await files.ContainerAsync();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"jobs/{batchId}/" }, cancellationToken))
        {
            await container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
        }
    }

    /// <summary>Appends result entries to a chunk's results, one at a time so an entry split over blocks is never interleaved with another.</summary>
    public sealed class ChunkResults(AppendBlobClient blob) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);

        public async Task AppendAsync(byte[] entry, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(entry);
            var line = new byte[entry.Length + 1];
            entry.CopyTo(line, 0);
            line[^1] = (byte)'\n';
            await _gate.WaitAsync(cancellationToken);
            try
            {
                for (int offset = 0; offset < line.Length; offset += MaxBlockBytes)
                {
                    using var block = new MemoryStream(line, offset, Math.Min(MaxBlockBytes, line.Length - offset), writable: false);
                    await blob.AppendBlockAsync(block, cancellationToken: cancellationToken);
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        public void Dispose() => _gate.Dispose();
    }
}
