using Microsoft.ML.OnnxRuntimeGenAI;

namespace Serverless.Core.Models;

/// <summary>
/// ONNX Runtime GenAI wants one OgaHandle alive for the life of the process (its disposal shuts the
/// native runtime down), so it is created once here and never disposed.
/// </summary>
public static class GenAiRuntime
{
    private static readonly Lazy<OgaHandle> Handle = new(() => new OgaHandle(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static void EnsureInitialized() => _ = Handle.Value;
}
