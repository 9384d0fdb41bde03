namespace Serverless.Benchmarks;

/// <summary>
/// One cold start. ProcessStart: launch to healthy. FirstToken: first request sent to its first text chunk,
/// which includes fetching the model from blob storage and loading it (ModelLoadMilliseconds, as the service
/// reports in x-model-load-ms). Total: the whole first streamed completion.
/// </summary>
internal sealed record ColdStart(TimeSpan ProcessStart, TimeSpan FirstToken, long? ModelLoadMilliseconds, TimeSpan Total);
