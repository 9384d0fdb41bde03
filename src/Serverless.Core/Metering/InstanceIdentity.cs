using System.Diagnostics;
using System.Security.Cryptography;

namespace Serverless.Core.Metering;

/// <summary>Who this process is in the ledger: machine, process id and a random suffix, unique per start.</summary>
public sealed class InstanceIdentity
{
    public InstanceIdentity(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Machine = Environment.MachineName;
        ProcessId = Environment.ProcessId;
        StartedAt = time.GetUtcNow();
        InstanceId = $"{Machine}:{ProcessId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
    }

    public string InstanceId { get; }

    public string Machine { get; }

    public int ProcessId { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>
    /// Whether an instance that ran on this machine is certainly gone: its process no longer exists, or the
    /// process id now belongs to a process started after the instance registered.
    /// </summary>
    public bool IsDeadLocalInstance(string machine, int processId, DateTimeOffset startedAt)
    {
        if (!string.Equals(machine, Machine, StringComparison.Ordinal))
        {
            return false;
        }

        if (processId == ProcessId)
        {
            // Another host in this very process (tests run several) or a dead one whose id we reuse:
            // undecidable here, so its heartbeat decides.
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(processId);
            return process.StartTime.ToUniversalTime() > startedAt.UtcDateTime + TimeSpan.FromSeconds(1);
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
