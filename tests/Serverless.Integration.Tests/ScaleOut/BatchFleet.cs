using Azure;
using Azure.Data.Tables;
using Serverless.Local.Jobs;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>
/// A fleet whose three instances share one Durable Task hub (the same storage account and hub name) with one partition:
/// the instance holding that partition's lease runs every orchestration, so a test knows which instance to kill. Its
/// lease lasts 6 seconds unrenewed (renewed every 2) instead of DurableTask.AzureStorage's 30, and messages a dead
/// instance had taken come back within 5 (orchestration) and 10 seconds (activity), so the survivors take over within
/// seconds. Batches run in chunks of four lines.
/// </summary>
public sealed class BatchFleet : Fleet
{
    public static readonly TimeSpan PartitionLease = TimeSpan.FromSeconds(6);

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["LocalDurableTask:PartitionCount"] = "1",
        ["LocalDurableTask:PartitionLeaseInterval"] = PartitionLease.ToString("c"),
        ["LocalDurableTask:PartitionLeaseRenewInterval"] = "00:00:02",
        ["LocalDurableTask:ControlQueueVisibilityTimeout"] = "00:00:05",
        ["LocalDurableTask:WorkItemQueueVisibilityTimeout"] = "00:00:10",
        ["LocalDurableTask:MaxQueuePollingInterval"] = "00:00:00.200",
        ["Batch:ChunkSize"] = "4",
        ["Batch:MaxParallelChunks"] = "3",
        ["Batch:MaxConcurrentLines"] = "2",
        ["Batch:ProgressInterval"] = "00:00:00.100",
    };

    /// <summary>The worker id host <paramref name="index"/> started its Durable Task worker as (from its log); null until it has.</summary>
    public string? WorkerOf(int index)
    {
        const string Marker = "started as worker '";
        string output = Hosts[index].Output;
        int at = output.LastIndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? null : output[(at + Marker.Length)..output.IndexOf('\'', at + Marker.Length)];
    }

    /// <summary>The one partition's lease as the hub's partition table holds it; nulls before the table has it.</summary>
    public async Task<(string? Owner, string? NextOwner)> PartitionLeaseAsync()
    {
        var table = new TableClient(StorageConnectionString, LocalDurableTaskRuntime.DefaultHubName + "Partitions");
        try
        {
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                return (row.GetString("CurrentOwner"), row.GetString("NextOwner"));
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Not created yet.
        }

        return (null, null);
    }
}
