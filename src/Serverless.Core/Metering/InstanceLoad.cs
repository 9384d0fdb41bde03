namespace Serverless.Core.Metering;

/// <summary>What an instance holds at a heartbeat: its loaded models and its generation slots and queue.</summary>
public sealed record InstanceLoad(IReadOnlyList<string> ModelsLoaded, int SlotsInUse, int Slots, int Queued)
{
    /// <summary>The comma-separated form kept in the ledger.</summary>
    public string ModelsColumn => string.Join(',', ModelsLoaded);
}

/// <summary>Tells the heartbeat what this instance holds (implemented where the models and the slots are known).</summary>
public interface IInstanceLoadSource
{
    InstanceLoad Current();
}
