using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Serverless.Core.Metering;

/// <summary>Who this process is in the ledger: machine, process id and a random suffix, unique per start.</summary>
public sealed class InstanceIdentity
{
    // Every identity made in this process (tests run several hosts in one). An instance that has our process id but
    // is not among them belonged to an earlier process that was given the same id.
    private static readonly ConcurrentDictionary<string, bool> MadeInThisProcess = new(StringComparer.Ordinal);

    public InstanceIdentity(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Machine = Environment.MachineName;
        ProcessId = Environment.ProcessId;
        StartedAt = time.GetUtcNow();
        InstanceId = $"{Machine}:{ProcessId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        MadeInThisProcess[InstanceId] = true;
    }

    public string InstanceId { get; }

    public string Machine { get; }

    public int ProcessId { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>
    /// Whether an instance that ran on this machine is certainly gone: its process no longer exists, or the
    /// process id now belongs to another process: one started after the instance registered, or this one.
    /// </summary>
    public bool IsDeadLocalInstance(LedgerInstance owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (!string.Equals(owner.Machine, Machine, StringComparison.Ordinal))
        {
            return false;
        }

        if (owner.ProcessId == ProcessId)
        {
            // Our own process id: a host in this very process is alive (its heartbeat decides when it stops); any other
            // is an earlier process. That is the usual crash restart of a container, which runs as the same process id
            // under the same hostname every time.
            return !MadeInThisProcess.ContainsKey(owner.InstanceId);
        }

        try
        {
            using var process = Process.GetProcessById(owner.ProcessId);
            return process.StartTime.ToUniversalTime() > owner.StartedAt.UtcDateTime + TimeSpan.FromSeconds(1);
        }
        catch (ArgumentException)
        {
            return true;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }
}
