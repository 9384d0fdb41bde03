namespace Serverless.Core.Metering;

/// <summary>Records that this instance is alive (and registers it on first use).</summary>
internal sealed class HeartbeatCommand(InstanceIdentity instance, DateTimeOffset now) : LedgerCommand<bool>
{
    public override void Execute(LedgerBatch batch)
    {
        batch.Execute(
            LedgerSql.Heartbeat,
            ("@instance", instance.InstanceId), ("@machine", instance.Machine), ("@pid", instance.ProcessId),
            ("@started", instance.StartedAt.ToUnixTimeMilliseconds()), ("@now", now.ToUnixTimeMilliseconds()));
        Result = true;
    }
}
