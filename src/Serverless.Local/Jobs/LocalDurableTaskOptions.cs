using System.ComponentModel.DataAnnotations;

namespace Serverless.Local.Jobs;

/// <summary>
/// The local host's Durable Task backend (DurableTask.Core on Azure Storage, i.e. Azurite). Section "LocalDurableTask".
/// The Functions app ignores it: there, host.json's extensions.durableTask configures Durable Functions. The storage
/// account is AzureWebJobsStorage and the task hub DurableTaskHubName, as in the Functions app.
/// </summary>
public sealed class LocalDurableTaskOptions : IValidatableObject
{
    public const string SectionName = "LocalDurableTask";

    /// <summary>
    /// How long an orchestration message taken by a process that died stays invisible before another run takes it. The
    /// default of Azure Storage is 5 minutes; a restarted local host should pick its batches up within seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ControlQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The same for activity messages (a chunk). Running activities renew it every 5 seconds, so it must stay above
    /// that with room to spare.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:10:00")]
    public TimeSpan WorkItemQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest pause between polls of idle queues (Azure Storage's default is 30 seconds; polling Azurite costs nothing).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Control queues of the task hub; fixed once the hub exists.</summary>
    [Range(1, 16)]
    public int PartitionCount { get; set; } = 4;

    /// <summary>
    /// How long a host's claim on a partition (a control queue, with the orchestrations hashed to it) lasts unless
    /// renewed. When a host dies, the others take its partitions over once this has run out (DurableTask.AzureStorage's
    /// LeaseInterval, 30 seconds by default); a host restarted on the same address takes its own back at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:10:00")]
    public TimeSpan PartitionLeaseInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a host renews its partition leases, claims expired ones and rebalances partitions over the hosts
    /// (LeaseAcquireInterval and LeaseRenewInterval, 10 seconds by default); shorter than <see cref="PartitionLeaseInterval"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan PartitionLeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Activities (batch chunks) this host runs at once.</summary>
    [Range(1, 1000)]
    public int MaxConcurrentActivities { get; set; } = 10;

    /// <summary>Orchestration episodes this host runs at once.</summary>
    [Range(1, 1000)]
    public int MaxConcurrentOrchestrations { get; set; } = 10;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (PartitionLeaseRenewInterval >= PartitionLeaseInterval)
        {
            yield return new ValidationResult(
                $"{SectionName}:{nameof(PartitionLeaseRenewInterval)} must be shorter than {nameof(PartitionLeaseInterval)}: a lease renewed only as it runs out is lost to other hosts.",
                [nameof(PartitionLeaseRenewInterval)]);
        }
    }
}
