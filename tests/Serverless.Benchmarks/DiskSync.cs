using System.Diagnostics;

namespace Serverless.Benchmarks;

/// <summary>
/// What one durable write costs on the disk the databases live on: write 8 KiB, then fsync (FileStream.Flush(true)),
/// as a commit does. A metered request makes two commits, so at one client its ledger wait cannot be below two of
/// these; and under load the disk's tail shows up in every commit.
/// </summary>
internal static class DiskSync
{
    public static (double P50Us, double P99Us) Measure(string folder, int samples = 300)
    {
        string path = Path.Combine(folder, "fsync-probe");
        var block = new byte[8192];
        var latencies = new double[samples];
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1);
            for (int i = 0; i < samples; i++)
            {
                file.Position = (i % 16) * (long)block.Length;
                file.Write(block);
                var started = Stopwatch.GetTimestamp();
                file.Flush(flushToDisk: true);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }
        finally
        {
            File.Delete(path);
        }

        Array.Sort(latencies);
        return (latencies[samples / 2], latencies[(int)Math.Ceiling(0.99 * samples) - 1]);
    }
}
