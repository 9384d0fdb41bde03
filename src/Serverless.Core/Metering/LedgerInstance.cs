namespace Serverless.Core.Metering;

/// <summary>A running instance of the service; its heartbeat tells the sweeper whether its reservations are orphaned.</summary>
public sealed class LedgerInstance
{
    public required string InstanceId { get; set; }

    public required string Machine { get; set; }

    public int ProcessId { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset LastSeenAt { get; set; }
}
