using System.Runtime.InteropServices;

namespace Serverless.Benchmarks;

/// <summary>
/// CPU time a whole process has used (all its threads, including finished ones), in nanoseconds, from the
/// Linux per-process CPU clock. Unlike wall time it hardly moves when other work shares the machine, so
/// it shows what a path costs even when the throughput numbers are noisy.
/// </summary>
internal static partial class ProcessCpuClock
{
    /// <summary>The CPU time of process <paramref name="pid"/> (0 for this one), or null where there is no such clock.</summary>
    public static TimeSpan? Read(int pid)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        if (clock_getcpuclockid(pid, out int clock) != 0 || clock_gettime(clock, out var time) != 0)
        {
            return null;
        }

        return TimeSpan.FromTicks((time.Seconds * TimeSpan.TicksPerSecond) + (time.Nanoseconds / 100));
    }

    [LibraryImport("libc", EntryPoint = "clock_getcpuclockid")]
    private static partial int clock_getcpuclockid(int pid, out int clockId);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clockId, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
