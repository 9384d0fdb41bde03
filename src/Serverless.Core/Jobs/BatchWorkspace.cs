using System.Globalization;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Core.Files;

namespace Serverless.Core.Jobs;

/// <summary>
/// A batch's working data in blob storage, next to the files: the valid lines split into chunks, each chunk's results
/// (written when the chunk ends), and the lines validation refused. Deleted once the batch has its output and error files.
/// </summary>
public sealed class BatchWorkspace(FileStore files)
{
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

    /// <summary>Replaces a blob with what is written to the returned stream (committed when it is disposed).</summary>
    public async Task<Stream> OpenWriteAsync(string blobName, CancellationToken cancellationToken = default)
    {
        var blob = (await files.ContainerAsync()).GetBlockBlobClient(blobName);
        return await blob.OpenWriteAsync(overwrite: true, cancellationToken: cancellationToken);
    }

    /// <summary>A blob's lines; none when it does not exist.</summary>
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

    /// <summary>Removes everything the batch kept while it ran (best effort: left-overs only cost storage).</summary>
    public async Task DeleteAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var container = await files.ContainerAsync();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"jobs/{batchId}/" }, cancellationToken))
        {
            await container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken);
        }
    }
}
