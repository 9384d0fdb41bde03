using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Models;

/// <summary>
/// Makes a model available as a local folder. Blob-backed models are downloaded once per content
/// version into the cache directory: files in parallel, each checked against the manifest's size and
/// SHA-256 while it streams, the whole folder published by one rename. A folder in its final place
/// is therefore always complete and verified, whatever crashed or failed along the way.
/// </summary>
public sealed class ModelCache(
    BlobServiceClient blobServiceClient,
    IOptions<ModelStorageOptions> options,
    ILogger<ModelCache> logger)
{
    private const string GenAiConfigName = "genai_config.json";
    private const int CopyBufferSize = 1024 * 1024;

    // Process-wide: several caches (tests, or two hosts in one process) may share a cache directory,
    // and none may mistake another's download in progress for a stale leftover.
    private static readonly ConcurrentDictionary<string, byte> ActiveTempDirectories = new(StringComparer.Ordinal);

    private readonly ModelStorageOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _downloadGates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _downloads = new(StringComparer.Ordinal);

    /// <summary>Downloads this cache has started for a model: how an admin (or a test) sees that a load was single-flight.</summary>
    public int DownloadCount(string modelId) => _downloads.TryGetValue(modelId, out int count) ? count : 0;

    public Task<string> EnsureLocalAsync(ModelDefinition model, CancellationToken cancellationToken) =>
        EnsureLocalAsync(model, progress: null, cancellationToken);

    /// <summary>Returns the path of a local folder holding the model, downloading it first if needed.</summary>
    /// <exception cref="ModelUnavailableException">The model cannot be made available now; nothing partial is left behind.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; a download in progress is discarded.</exception>
    public async Task<string> EnsureLocalAsync(
        ModelDefinition model, IProgress<ModelTransferProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            var problems = model.Validate().ToList();
            if (problems.Count > 0)
            {
                throw new ModelUnavailableException(model.Id, ModelUnavailableReason.InvalidDefinition, string.Join(" ", problems));
            }

            return model.IsLocal
                ? ResolveLocalFolder(model)
                : await EnsureBlobModelAsync(model, progress, cancellationToken);
        }
        catch (ModelUnavailableException ex)
        {
            ModelStoreLog.ModelUnavailable(logger, ex, ex.ModelId, ex.Reason, ex.Detail);
            throw;
        }
    }

    /// <summary>Reads and validates the manifest of a blob-backed model.</summary>
    /// <exception cref="ModelUnavailableException">The manifest is missing, invalid or storage cannot be reached.</exception>
    public async Task<ModelManifest> FetchManifestAsync(ModelDefinition model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var blobName = ModelCacheLayout.BlobName(model.ResolvedBlobPrefix, ModelManifest.BlobName);
        var blob = blobServiceClient.GetBlobContainerClient(_options.Container).GetBlobClient(blobName);
        string json;
        try
        {
            json = (await blob.DownloadContentAsync(cancellationToken)).Value.Content.ToString();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ModelUnavailableException(
                model.Id,
                ModelUnavailableReason.ManifestMissing,
                $"no manifest at {_options.Container}/{blobName}; the model was not uploaded or its upload did not finish.",
                innerException: ex);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ModelUnavailableException(
                model.Id, ModelUnavailableReason.StorageError, $"could not read {_options.Container}/{blobName}: {ex.Message}", innerException: ex);
        }

        try
        {
            return ModelManifest.Parse(json);
        }
        catch (FormatException ex)
        {
            throw new ModelUnavailableException(
                model.Id, ModelUnavailableReason.ManifestInvalid, $"{_options.Container}/{blobName} is invalid: {ex.Message}", innerException: ex);
        }
    }

    private string ResolveLocalFolder(ModelDefinition model)
    {
        var path = Path.GetFullPath(model.LocalPath!);
        if (!Directory.Exists(path))
        {
            throw new ModelUnavailableException(model.Id, ModelUnavailableReason.LocalFolderInvalid, $"local folder '{path}' does not exist.");
        }

        if (!File.Exists(Path.Combine(path, GenAiConfigName)))
        {
            throw new ModelUnavailableException(
                model.Id, ModelUnavailableReason.LocalFolderInvalid, $"local folder '{path}' has no {GenAiConfigName}.", GenAiConfigName);
        }

        ModelStoreLog.LocalModel(logger, model.Id, path);
        return path;
    }

    private async Task<string> EnsureBlobModelAsync(
        ModelDefinition model, IProgress<ModelTransferProgress>? progress, CancellationToken cancellationToken)
    {
        ModelManifest manifest;
        try
        {
            manifest = await FetchManifestAsync(model, cancellationToken);
        }
        catch (ModelUnavailableException ex) when (ex.Reason == ModelUnavailableReason.StorageError && FindNewestCachedCopy(model.Id) is { } cached)
        {
            // A restart while storage is down can still serve what was verified before.
            ModelStoreLog.ServingCachedCopyWithoutStorage(logger, ex, model.Id, cached.Version, cached.Path);
            return cached.Path;
        }

        var finalDirectory = ModelCacheLayout.VersionDirectory(_options.CacheDirectory, model.Id, manifest.Version);
        if (IsComplete(finalDirectory, manifest))
        {
            ModelStoreLog.CacheHit(logger, model.Id, manifest.Version, finalDirectory);
            return finalDirectory;
        }

        var gate = _downloadGates.GetOrAdd(model.Id, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (IsComplete(finalDirectory, manifest))
            {
                ModelStoreLog.CacheHit(logger, model.Id, manifest.Version, finalDirectory);
                return finalDirectory;
            }

            if (Directory.Exists(finalDirectory))
            {
                // Only reachable if someone edited the cache by hand: publication is a single rename.
                ModelStoreLog.CachedCopyIncomplete(logger, model.Id, manifest.Version, finalDirectory);
                if (!TryDeleteDirectory(finalDirectory))
                {
                    throw new ModelUnavailableException(
                        model.Id, ModelUnavailableReason.StorageError, $"could not remove the incomplete cached copy at '{finalDirectory}'.");
                }
            }

            RemoveStaleTempDirectories(ModelCacheLayout.ModelDirectory(_options.CacheDirectory, model.Id));
            await DownloadAsync(model, manifest, finalDirectory, progress, cancellationToken);
            return finalDirectory;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task DownloadAsync(
        ModelDefinition model, ModelManifest manifest, string finalDirectory, IProgress<ModelTransferProgress>? progress,
        CancellationToken cancellationToken)
    {
        ModelStoreLog.DownloadStarted(logger, model.Id, manifest.Version, manifest.Files.Count, manifest.TotalSize);
        _downloads.AddOrUpdate(model.Id, 1, static (_, count) => count + 1);
        var stopwatch = Stopwatch.StartNew();
        var tempDirectory = ModelCacheLayout.NewTempDirectory(_options.CacheDirectory, model.Id);
        ActiveTempDirectories[tempDirectory] = 0;
        try
        {
            Directory.CreateDirectory(tempDirectory);
            var container = blobServiceClient.GetBlobContainerClient(_options.Container);
            var tracker = new ModelTransferTracker(model.Id, manifest.TotalSize, manifest.Files.Count, progress);

            // Parallel.ForEachAsync cancels the remaining files as soon as one fails and waits for
            // every file to close before it rethrows, so the temp folder can then be deleted.
            await Parallel.ForEachAsync(
                manifest.Files,
                new ParallelOptions { MaxDegreeOfParallelism = _options.DownloadParallelism, CancellationToken = cancellationToken },
                (file, token) => DownloadFileAsync(model, container, file, tempDirectory, tracker, token));

            await WriteDurablyAsync(Path.Combine(tempDirectory, ModelCacheLayout.ManifestCopyName), manifest.ToJson(), cancellationToken);
            await WriteDurablyAsync(Path.Combine(tempDirectory, ModelCacheLayout.CompleteMarkerName), manifest.ContentHash, cancellationToken);
            Publish(model, manifest, tempDirectory, finalDirectory);
            ModelStoreLog.DownloadCompleted(logger, model.Id, manifest.Version, manifest.TotalSize, stopwatch.ElapsedMilliseconds, finalDirectory);
        }
        catch (Exception ex) when (ex is not ModelUnavailableException && !cancellationToken.IsCancellationRequested)
        {
            throw new ModelUnavailableException(
                model.Id, ModelUnavailableReason.StorageError, $"download failed: {ex.Message}", innerException: ex);
        }
        finally
        {
            if (Directory.Exists(tempDirectory))
            {
                TryDeleteDirectory(tempDirectory);
            }

            ActiveTempDirectories.TryRemove(tempDirectory, out _);
        }
    }

    private async ValueTask DownloadFileAsync(
        ModelDefinition model, BlobContainerClient container, ModelFileEntry file, string tempDirectory,
        ModelTransferTracker tracker, CancellationToken cancellationToken)
    {
        var path = ModelCacheLayout.ResolveFilePath(tempDirectory, file.Name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var blobName = ModelCacheLayout.BlobName(model.ResolvedBlobPrefix, file.Name);
        var transfer = tracker.BeginFile(file.Name, file.Size);

        BlobDownloadStreamingResult download;
        try
        {
            download = (await container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ModelUnavailableException(
                model.Id, ModelUnavailableReason.FileMissing, $"file '{file.Name}' is missing from storage ({_options.Container}/{blobName}).",
                file.Name, ex);
        }

        using (download)
        {
            if (download.Details.ContentLength != file.Size)
            {
                throw Corrupt(model, file, $"is {download.Details.ContentLength} bytes in storage but {file.Size} in the manifest");
            }

            await using var output = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
                PreallocationSize = file.Size,
            });
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                long written = 0;
                int read;
                while ((read = await download.Content.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken)) > 0)
                {
                    written += read;
                    if (written > file.Size)
                    {
                        throw Corrupt(model, file, $"is longer in storage than the {file.Size} bytes in the manifest");
                    }

                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    transfer.Advance(read);
                }

                if (written != file.Size)
                {
                    throw Corrupt(model, file, $"ended after {written} of {file.Size} bytes");
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.Equals(sha256, file.Sha256, StringComparison.Ordinal))
            {
                throw Corrupt(model, file, $"has SHA-256 {sha256} but the manifest says {file.Sha256}");
            }

            // Flushed to disk before the rename, so a power loss cannot publish a folder of unwritten pages.
            output.Flush(flushToDisk: true);
        }

        transfer.Complete();
    }

    private static ModelUnavailableException Corrupt(ModelDefinition model, ModelFileEntry file, string what) =>
        new(model.Id, ModelUnavailableReason.FileCorrupt, $"file '{file.Name}' {what}.", file.Name);

    private void Publish(ModelDefinition model, ModelManifest manifest, string tempDirectory, string finalDirectory)
    {
        try
        {
            Directory.Move(tempDirectory, finalDirectory);
        }
        catch (IOException) when (IsComplete(finalDirectory, manifest))
        {
            // Another process sharing this cache published the same version first; its copy is as good.
            ModelStoreLog.LostPublishRace(logger, model.Id, manifest.Version);
        }
    }

    /// <summary>Cheap check (marker and file sizes, no hashing) that a published folder is intact.</summary>
    private static bool IsComplete(string directory, ModelManifest manifest)
    {
        var marker = Path.Combine(directory, ModelCacheLayout.CompleteMarkerName);
        if (!File.Exists(marker) || File.ReadAllText(marker).Trim() != manifest.ContentHash)
        {
            return false;
        }

        foreach (var file in manifest.Files)
        {
            var info = new FileInfo(ModelCacheLayout.ResolveFilePath(directory, file.Name));
            if (!info.Exists || info.Length != file.Size)
            {
                return false;
            }
        }

        return true;
    }

    private (string Path, string Version)? FindNewestCachedCopy(string modelId)
    {
        var modelDirectory = new DirectoryInfo(ModelCacheLayout.ModelDirectory(_options.CacheDirectory, modelId));
        if (!modelDirectory.Exists)
        {
            return null;
        }

        var candidates =
            from directory in modelDirectory.EnumerateDirectories()
            where !directory.Name.StartsWith('.')
            let marker = new FileInfo(Path.Combine(directory.FullName, ModelCacheLayout.CompleteMarkerName))
            where marker.Exists
            orderby marker.LastWriteTimeUtc descending
            select directory;
        foreach (var directory in candidates)
        {
            try
            {
                var manifest = ModelManifest.Parse(File.ReadAllText(Path.Combine(directory.FullName, ModelCacheLayout.ManifestCopyName)));
                if (manifest.Version == directory.Name && IsComplete(directory.FullName, manifest))
                {
                    return (directory.FullName, manifest.Version);
                }
            }
            catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
            {
                // Not a usable copy; try an older one.
            }
        }

        return null;
    }

    /// <summary>Deletes temp folders left by crashed processes, or by this one when a delete failed earlier.</summary>
    private void RemoveStaleTempDirectories(string modelDirectory)
    {
        if (!Directory.Exists(modelDirectory))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(modelDirectory, ModelCacheLayout.TempPrefix + "*"))
        {
            if (ActiveTempDirectories.ContainsKey(directory)
                || ModelCacheLayout.TempDirectoryOwner(Path.GetFileName(directory)) is not { } owner
                || (owner != Environment.ProcessId && IsProcessRunning(owner)))
            {
                continue;
            }

            if (TryDeleteDirectory(directory))
            {
                ModelStoreLog.StaleTempRemoved(logger, directory);
            }
        }
    }

    private static bool IsProcessRunning(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private bool TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ModelStoreLog.CacheFolderRemovalFailed(logger, ex, directory);
            return false;
        }
    }

    private static async Task WriteDurablyAsync(string path, string content, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(content), cancellationToken);
        stream.Flush(flushToDisk: true);
    }
}
