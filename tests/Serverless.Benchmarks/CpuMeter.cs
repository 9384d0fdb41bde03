namespace Serverless.Benchmarks;

/// <summary>CPU time used by this process and the service process between Start and Stamp.</summary>
internal readonly record struct CpuMeter(int ServerPid, TimeSpan? Client, TimeSpan? Server)
{
    public static CpuMeter Start(int serverPid) => new(serverPid, ProcessCpuClock.Read(0), ProcessCpuClock.Read(serverPid));

    /// <summary>The run with its CPU cost: this process's, plus the service's when the run went through it.</summary>
    public GenerationRun Stamp(GenerationRun run, bool includeServer)
    {
        ArgumentNullException.ThrowIfNull(run);
        var client = ProcessCpuClock.Read(0) - Client ?? TimeSpan.Zero;
        var server = includeServer ? ProcessCpuClock.Read(ServerPid) - Server ?? TimeSpan.Zero : TimeSpan.Zero;
        return run with { Cpu = client + server, ServerCpu = server };
    }
}
