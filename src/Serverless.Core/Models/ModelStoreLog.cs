using Microsoft.Extensions.Logging;

namespace Serverless.Core.Models;

internal static partial class ModelStoreLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information,
        Message = "Uploading model {ModelId}: {FileCount} files, {TotalBytes} bytes to {Container}/{Prefix}")]
    public static partial void UploadStarted(ILogger logger, string modelId, int fileCount, long totalBytes, string container, string prefix);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information,
        Message = "Uploaded model {ModelId} version {Version}: {FileCount} files, {TotalBytes} bytes in {ElapsedMs} ms")]
    public static partial void UploadCompleted(ILogger logger, string modelId, string version, int fileCount, long totalBytes, long elapsedMs);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Debug, Message = "Model {ModelId} version {Version} is already cached at {Path}")]
    public static partial void CacheHit(ILogger logger, string modelId, string version, string path);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information,
        Message = "Downloading model {ModelId} version {Version}: {FileCount} files, {TotalBytes} bytes")]
    public static partial void DownloadStarted(ILogger logger, string modelId, string version, int fileCount, long totalBytes);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Information,
        Message = "Downloaded and verified model {ModelId} version {Version} ({TotalBytes} bytes) in {ElapsedMs} ms to {Path}")]
    public static partial void DownloadCompleted(ILogger logger, string modelId, string version, long totalBytes, long elapsedMs, string path);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Debug,
        Message = "Model {ModelId} version {Version} was published by another download first; using it")]
    public static partial void LostPublishRace(ILogger logger, string modelId, string version);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Warning,
        Message = "Cached model {ModelId} version {Version} at {Path} is incomplete; downloading it again")]
    public static partial void CachedCopyIncomplete(ILogger logger, string modelId, string version, string path);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Warning,
        Message = "Blob storage is unreachable for model {ModelId}; serving the cached version {Version} at {Path}")]
    public static partial void ServingCachedCopyWithoutStorage(ILogger logger, Exception exception, string modelId, string version, string path);

    [LoggerMessage(EventId = 1116, Level = LogLevel.Debug, Message = "Local model {ModelId} is served from {Path}")]
    public static partial void LocalModel(ILogger logger, string modelId, string path);

    [LoggerMessage(EventId = 1117, Level = LogLevel.Debug, Message = "Removed stale model download folder {Path}")]
    public static partial void StaleTempRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 1118, Level = LogLevel.Warning, Message = "Could not remove model cache folder {Path}")]
    public static partial void CacheFolderRemovalFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 1120, Level = LogLevel.Error,
        Message = "Model {ModelId} is unavailable ({Reason}): {Detail}")]
    public static partial void ModelUnavailable(ILogger logger, Exception exception, string modelId, ModelUnavailableReason reason, string detail);
}
