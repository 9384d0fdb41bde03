using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Models;

/// <summary>
/// Pushes a GenAI model folder to blob storage: every file (hashed while it is read, so the manifest
/// describes exactly the bytes sent), then the manifest last. Until the manifest is written a new
/// model is invisible to <see cref="ModelCache"/>.
/// </summary>
public sealed class ModelBlobUploader(
    BlobServiceClient blobServiceClient,
    IOptions<ModelStorageOptions> options,
    TimeProvider timeProvider,
    ILogger<ModelBlobUploader> logger)
{
    private const string GenAiConfigName = "genai_config.json";
    private const int BlockSize = 4 * 1024 * 1024;
    private const int BlocksInFlightPerFile = 4;

    private readonly ModelStorageOptions _options = options.Value;

    public Task<ModelManifest> UploadAsync(
        string folder, string modelId, IProgress<ModelTransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        UploadAsync(folder, new ModelDefinition { Id = modelId }, progress, cancellationToken);

    /// <summary>Uploads <paramref name="folder"/> to the blob prefix of <paramref name="target"/>.</summary>
    /// <exception cref="ArgumentException">The model definition is invalid or the folder is not a GenAI model folder.</exception>
    public async Task<ModelManifest> UploadAsync(
        string folder, ModelDefinition target, IProgress<ModelTransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(target);
        var problems = target.Validate().ToList();
        if (target.IsLocal)
        {
            problems.Add($"Model '{target.Id}' is a local-folder model; only blob-backed models can be uploaded.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(target));
        }

        var root = Path.GetFullPath(folder);
        var files = ListModelFiles(root);
        var prefix = target.ResolvedBlobPrefix;
        var totalBytes = files.Sum(f => f.Length);
        ModelStoreLog.UploadStarted(logger, target.Id, files.Count, totalBytes, _options.Container, prefix);
        var stopwatch = Stopwatch.StartNew();

        var container = blobServiceClient.GetBlobContainerClient(_options.Container);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

        var tracker = new ModelTransferTracker(target.Id, totalBytes, files.Count, progress);
        var entries = new ConcurrentBag<ModelFileEntry>();
        await Parallel.ForEachAsync(
            files,
            new ParallelOptions { MaxDegreeOfParallelism = _options.UploadParallelism, CancellationToken = cancellationToken },
            async (file, token) =>
            {
                var blob = container.GetBlockBlobClient(ModelCacheLayout.BlobName(prefix, file.Name));
                var transfer = tracker.BeginFile(file.Name, file.Length);
                entries.Add(await UploadFileAsync(blob, file, transfer, token));
                transfer.Complete();
            });

        var manifest = new ModelManifest(target.Id, [.. entries], timeProvider.GetUtcNow());
        await container.GetBlobClient(ModelCacheLayout.BlobName(prefix, ModelManifest.BlobName)).UploadAsync(
            BinaryData.FromString(manifest.ToJson()),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
            cancellationToken);

        ModelStoreLog.UploadCompleted(logger, target.Id, manifest.Version, files.Count, manifest.TotalSize, stopwatch.ElapsedMilliseconds);
        return manifest;
    }

    private static List<LocalFile> ListModelFiles(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new ArgumentException($"Model folder '{root}' does not exist.", nameof(root));
        }

        if (!File.Exists(Path.Combine(root, GenAiConfigName)))
        {
            throw new ArgumentException($"'{root}' is not an ONNX Runtime GenAI model folder: it has no {GenAiConfigName}.", nameof(root));
        }

        var files = new List<LocalFile>();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            // A folder that came out of the cache carries its bookkeeping files; they are not part of the model.
            if (ModelCacheLayout.IsReservedName(name))
            {
                continue;
            }

            if (name == ModelManifest.BlobName)
            {
                throw new ArgumentException($"'{root}' contains a file named {ModelManifest.BlobName}, which would collide with the upload manifest.", nameof(root));
            }

            if (!ModelManifest.IsValidFileName(name))
            {
                throw new ArgumentException($"File '{name}' in '{root}' has a name that cannot be stored in a manifest.", nameof(root));
            }

            files.Add(new LocalFile(name, path, new FileInfo(path).Length));
        }

        return [.. files.OrderBy(f => f.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Reads the file sequentially (hashing as it goes) and stages up to <see cref="BlocksInFlightPerFile"/>
    /// blocks at once, so one large model.onnx.data does not upload at single-request speed.
    /// </summary>
    private static async Task<ModelFileEntry> UploadFileAsync(
        BlockBlobClient blob, LocalFile file, ModelTransferTracker.FileTransfer transfer, CancellationToken cancellationToken)
    {
        await using var input = new FileStream(file.Path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            BufferSize = 0,
        });
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var throttle = new SemaphoreSlim(BlocksInFlightPerFile);
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var blockIds = new List<string>();
        var staging = new List<Task>();
        long size = 0;

        try
        {
            while (true)
            {
                await throttle.WaitAsync(failure.Token);
                var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
                int read;
                try
                {
                    read = await input.ReadAtLeastAsync(buffer.AsMemory(0, BlockSize), BlockSize, throwOnEndOfStream: false, failure.Token);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throttle.Release();
                    throw;
                }

                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throttle.Release();
                    break;
                }

                hash.AppendData(buffer, 0, read);
                size += read;
                var blockId = BlockId(blockIds.Count);
                blockIds.Add(blockId);
                staging.Add(StageBlockAsync(blob, blockId, buffer, read, throttle, failure, transfer));
                if (read < BlockSize)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (staging.Count > 0)
        {
            // In-flight blocks must stop before their buffers and the throttle go away. When the loop
            // stopped only because a block failed, that block's error is the one worth reporting.
            await failure.CancelAsync();
            try
            {
                await Task.WhenAll(staging);
            }
            catch (Exception) when (ex is not OperationCanceledException || cancellationToken.IsCancellationRequested)
            {
            }

            throw;
        }

        await Task.WhenAll(staging);
        var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        await blob.CommitBlockListAsync(
            blockIds,
            new CommitBlockListOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                Metadata = new Dictionary<string, string> { ["sha256"] = sha256 },
            },
            cancellationToken);
        return new ModelFileEntry(file.Name, size, sha256);
    }

    private static async Task StageBlockAsync(
        BlockBlobClient blob, string blockId, byte[] buffer, int length, SemaphoreSlim throttle, CancellationTokenSource failure,
        ModelTransferTracker.FileTransfer transfer)
    {
        try
        {
            using var content = new MemoryStream(buffer, 0, length, writable: false);
            await blob.StageBlockAsync(blockId, content, cancellationToken: failure.Token);
            transfer.Advance(length);
        }
        catch
        {
            await failure.CancelAsync();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throttle.Release();
        }
    }

    // Block ids must all have the same length within a blob.
    private static string BlockId(int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(index.ToString("D6", CultureInfo.InvariantCulture)));

    private sealed record LocalFile(string Name, string Path, long Length);
}
