using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Serverless.Core.Metering;

/// <summary>Who this process is in the ledger: machine, process id and a random suffix, unique per start.</summary>
/// <remarks>
/// The machine is the host name, joined by the App Service instance id (<c>WEBSITE_INSTANCE_ID</c>) where Azure sets
/// one: process ids are compared only between instances with the same machine, so two containers that happen to share
/// a host name but not an instance (or the reverse) are never judged by each other's process table, only by heartbeats.
/// </remarks>
public sealed class InstanceIdentity
{
    /// <summary>The variable Azure App Service and Functions set to the id of the instance (VM or container) a process runs on.</summary>
    public const string AzureInstanceVariable = "WEBSITE_INSTANCE_ID";

    // Enough of Azure's 64-hex-digit instance id to tell instances apart, and short enough for the 128-character columns.
    private const int AzureInstanceChars = 16;

    // Every identity made in this process (tests run several hosts in one). An instance that has our process id but
    // is not among them belonged to an earlier process that was given the same id.
    private static readonly ConcurrentDictionary<string, bool> MadeInThisProcess = new(StringComparer.Ordinal);

    public InstanceIdentity(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Machine = MachineOf(Environment.MachineName, Environment.GetEnvironmentVariable(AzureInstanceVariable));
        ProcessId = Environment.ProcessId;
        StartedAt = time.GetUtcNow();
        InstanceId = $"{Machine}:{ProcessId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        MadeInThisProcess[InstanceId] = true;
    }

    public string InstanceId { get; }

    /// <summary>The ledger's machine name for a host name and an Azure instance id (null or empty where not in Azure).</summary>
    public static string MachineOf(string hostName, string? azureInstanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        string host = hostName.Length > 64 ? hostName[..64] : hostName;
        if (string.IsNullOrWhiteSpace(azureInstanceId))
        {
            return host;
        }

        string instance = azureInstanceId.Trim();
        return $"{host}/{(instance.Length > AzureInstanceChars ? instance[..AzureInstanceChars] : instance)}";
    }

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
