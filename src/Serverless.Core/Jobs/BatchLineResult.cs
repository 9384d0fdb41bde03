namespace Serverless.Core.Jobs;

/// <summary>
/// A completed batch line's output line, written by the ledger in the transaction of its usage record (see
/// <see cref="Metering.SettlementRequest.BatchResult"/>): a line whose chunk runs again is answered from here instead of
/// generating and billing again. Rows live while the batch runs and are deleted once its files are written.
/// </summary>
public sealed class BatchLineResult
{
    public required string RequestId { get; set; }

    public required string BatchId { get; set; }

    public required string Result { get; set; }
}
