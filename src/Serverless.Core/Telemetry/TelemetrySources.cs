namespace Serverless.Core.Telemetry;

/// <summary>The generation slots and queue of this instance now, for the gauges (implemented by the feature that owns them).</summary>
public interface IGenerationCapacity
{
    GenerationCapacity Capacity { get; }
}

/// <param name="Running">Generations holding a slot.</param>
/// <param name="Limit">Slots of this instance.</param>
/// <param name="LiveWaiting">API requests waiting for a slot.</param>
/// <param name="BatchWaiting">Batch lines waiting for a slot.</param>
public readonly record struct GenerationCapacity(int Running, int Limit, int LiveWaiting, int BatchWaiting);

/// <summary>
/// Settled usage not yet accepted by Stripe, for the export-lag gauges (implemented by the feature that exports). Read
/// when metrics are collected, so it must answer from memory: a slow count belongs in a background refresh.
/// </summary>
public interface IExportBacklog
{
    /// <summary>The latest known backlog, or null while none has been read yet.</summary>
    ExportBacklog? Latest();
}

/// <param name="PendingRecords">Usage records waiting to be exported (in the outbox or in buckets not yet accepted).</param>
/// <param name="OldestAge">How long the oldest of them has waited; null when none waits.</param>
public readonly record struct ExportBacklog(long PendingRecords, TimeSpan? OldestAge);
