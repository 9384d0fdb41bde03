using Microsoft.Extensions.Options;
using Serverless.Core.Inference;
using Serverless.Core.Metering;
using Serverless.Core.Models;

namespace Serverless.Core.Operations;

/// <summary>This instance's loaded models and generation slots, for its heartbeat.</summary>
internal sealed class InstanceLoadSource(GenerationGate gate, ModelRegistry models, IOptions<InferenceOptions> options) : IInstanceLoadSource
{
    public InstanceLoad Current() => new(
        [.. models.Status().Where(m => m.State == ModelRegistry.ReadyState).Select(m => m.Id)],
        gate.Running,
        options.Value.MaxConcurrentGenerations,
        gate.Waiting + gate.BackgroundWaiting);
}
