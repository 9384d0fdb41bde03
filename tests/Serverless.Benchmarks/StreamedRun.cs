namespace Serverless.Benchmarks;

/// <summary>A streamed run and the x-model-load-ms header (present when the request paid for loading the model).</summary>
internal sealed record StreamedRun(GenerationRun Run, long? ModelLoadMilliseconds);
