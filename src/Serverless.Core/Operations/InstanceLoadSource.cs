using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Operations;

/// <summary>This instance's loaded models and generation slots (the gate's one snapshot the gauges read too), for its heartbeat.</summary>
internal sealed class InstanceLoadSource(IGenerationCapacity slots, ModelRegistry models) : IInstanceLoadSource
{
    public InstanceLoad Current()
    {
        var capacity = slots.Capacity;
        return new(
            [.. models.Status().Where(m => m.State == ModelRegistry.ReadyState).Select(m => m.Id)],
            capacity.Running,
            capacity.Limit,
            capacity.LiveWaiting + capacity.BatchWaiting);
    }
}
