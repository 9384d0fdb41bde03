using System.Diagnostics;

namespace Serverless.Benchmarks;

/// <summary>
/// What one durable write costs on the disk the databases live on: write 8 KiB, then fsync (FileStream.Flush(true)),
/// as a commit does, back to back. A metered whole response makes two commits and fsyncs one of them, so at one client
/// its ledger wait cannot be below one of these; and under load the disk's tail shows up in every commit.
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

/// <summary>
/// The disk alone under the metered service's pattern: between two rounds of the metering-latency run (so after the
/// same idle gaps, on the same disk, at the same minutes), write what a request's settlement commit writes to the WAL
/// (<see cref="Pages"/> pages of 4 KiB, measured with strace: about 11 frames a request) and fsync. A durable commit
/// cannot be faster than this, so its quantiles are the floor under the ledger wait's.
/// </summary>
internal sealed class IdleFsyncProbe : IDisposable
{
    public const int Pages = 11;

    private const int Slots = 64;
    private readonly FileStream _file;
    private readonly byte[] _block = new byte[Pages * 4096];
    private int _slot;

    public IdleFsyncProbe(string folder)
    {
        // Written through once and synced, like a WAL that is being reused rather than grown.
        _file = new FileStream(Path.Combine(folder, "idle-fsync-probe"), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose);
        for (int i = 0; i < Slots; i++)
        {
            _file.Write(_block);
        }

        _file.Flush(flushToDisk: true);
    }

    public TimeSpan Measure()
    {
        _file.Position = (long)(_slot++ % Slots) * _block.Length;
        var started = Stopwatch.GetTimestamp();
        _file.Write(_block);
        _file.Flush(flushToDisk: true);
        return Stopwatch.GetElapsedTime(started);
    }

    public void Dispose() => _file.Dispose();
}
