using System.Globalization;
using Serverless.Core.Models;

namespace Serverless.Local.Cli;

/// <summary>One self-overwriting progress line on stderr for model transfers.</summary>
internal static class ProgressPrinter
{
    public static IProgress<ModelTransferProgress> Create()
    {
        var gate = new Lock();
        long lastPrinted = -1;
        return new SynchronousProgress(p =>
        {
            lock (gate)
            {
                long percent = p.TotalBytes == 0 ? 100 : p.BytesTransferred * 100 / p.TotalBytes;
                bool done = p.FilesCompleted == p.FileCount;
                if (percent == lastPrinted && !done)
                {
                    return;
                }

                lastPrinted = percent;
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r  {p.ModelId}: {percent,3}%  {p.BytesTransferred / 1048576.0,8:F1} / {p.TotalBytes / 1048576.0:F1} MiB  files {p.FilesCompleted}/{p.FileCount}  {p.FileName,-32}"));
                if (done)
                {
                    Console.Error.WriteLine();
                }
            }
        });
    }

    // Progress<T> posts to the thread pool and can print after the command has finished; this reports inline.
    private sealed class SynchronousProgress(Action<ModelTransferProgress> report) : IProgress<ModelTransferProgress>
    {
        public void Report(ModelTransferProgress value) => report(value);
    }
}
