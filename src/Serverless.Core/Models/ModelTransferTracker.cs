namespace Serverless.Core.Models;

/// <summary>Aggregates per-file byte counts from parallel transfers into <see cref="ModelTransferProgress"/> reports.</summary>
internal sealed class ModelTransferTracker(string modelId, long totalBytes, int fileCount, IProgress<ModelTransferProgress>? progress)
{
    // Reporting every network read would flood a console renderer; a report per MiB is smooth enough.
    private const long ReportInterval = 1024 * 1024;

    private long _bytesTransferred;
    private int _filesCompleted;

    public FileTransfer BeginFile(string name, long size)
    {
        var file = new FileTransfer(this, name, size);
        Report(name, 0, size);
        return file;
    }

    private void Report(string name, long fileBytes, long fileSize)
    {
        progress?.Report(new ModelTransferProgress(
            modelId,
            name,
            fileBytes,
            fileSize,
            Interlocked.Read(ref _bytesTransferred),
            totalBytes,
            Volatile.Read(ref _filesCompleted),
            fileCount));
    }

    /// <summary>Progress of one file; used by one transfer at a time.</summary>
    internal sealed class FileTransfer(ModelTransferTracker tracker, string name, long size)
    {
        private long _bytes;
        private long _lastReported;

        public void Advance(long bytes)
        {
            var done = Interlocked.Add(ref _bytes, bytes);
            Interlocked.Add(ref tracker._bytesTransferred, bytes);
            var last = Interlocked.Read(ref _lastReported);
            if (done - last >= ReportInterval && Interlocked.CompareExchange(ref _lastReported, done, last) == last)
            {
                tracker.Report(name, done, size);
            }
        }

        public void Complete()
        {
            Interlocked.Increment(ref tracker._filesCompleted);
            tracker.Report(name, Interlocked.Read(ref _bytes), size);
        }
    }
}
