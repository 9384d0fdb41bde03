namespace Serverless.Core.Metering;

/// <summary>Records that this instance is alive (and registers it on first use), with what it holds if known.</summary>
internal sealed class HeartbeatCommand(InstanceIdentity instance, DateTimeOffset now, InstanceLoad? load) : LedgerCommand<bool>
{
    // A model id is short; the column holds a long list, cut at a whole id if a deployment lists more.
    private const int ModelsColumnLength = 2048;

    public override void Execute(LedgerBatch batch)
    {
        string? models = load?.ModelsColumn;
        if (models is { Length: > ModelsColumnLength })
        {
            models = models[..(models.LastIndexOf(',', ModelsColumnLength - 1) is int cut and > 0 ? cut : ModelsColumnLength)];
        }

        batch.Execute(
            LedgerSql.Heartbeat,
            ("@instance", instance.InstanceId), ("@machine", instance.Machine), ("@pid", instance.ProcessId),
            ("@started", instance.StartedAt.ToUnixTimeMilliseconds()), ("@now", now.ToUnixTimeMilliseconds()),
            ("@models", models), ("@inUse", load?.SlotsInUse), ("@slots", load?.Slots), ("@queued", load?.Queued));
        Result = true;
    }
}
