using Microsoft.ML.OnnxRuntimeGenAI;

namespace Serverless.Core.Tests.Models;

/// <summary>
/// One OgaHandle for the whole test process. Its finalizer shuts ONNX Runtime GenAI down, so a handle that
/// is disposed or collected while other tests still use models breaks them; a static field keeps it alive.
/// </summary>
internal static class GenAIProcess
{
    private static readonly OgaHandle Handle = new();

    public static void EnsureStarted() => GC.KeepAlive(Handle);
}
