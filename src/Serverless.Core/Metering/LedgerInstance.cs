namespace Serverless.Core.Metering;

/// <summary>
/// A running instance of the service; its heartbeat tells the sweeper whether its reservations are orphaned, and
/// carries what the instance held at that moment (its models and slots) for the operator overview.
/// </summary>
public sealed class LedgerInstance
{
    public required string InstanceId { get; set; }

    public required string Machine { get; set; }

    public int ProcessId { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset LastSeenAt { get; set; }

    /// <summary>The models loaded in memory at the last heartbeat, comma-separated (null before the first heartbeat that knew).</summary>
    public string? ModelsLoaded { get; set; }

    /// <summary>Generation slots in use at the last heartbeat.</summary>
    public int? SlotsInUse { get; set; }

    /// <summary>Generation slots the instance has (<c>Inference:MaxConcurrentGenerations</c>).</summary>
    public int? Slots { get; set; }

    /// <summary>Requests waiting for a slot at the last heartbeat (live and batch).</summary>
    public int? Queued { get; set; }
}
