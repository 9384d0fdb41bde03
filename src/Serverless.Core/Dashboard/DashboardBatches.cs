using Serverless.Core.Jobs;
using Serverless.Core.Metering;

namespace Serverless.Core.Dashboard;

/// <summary>
/// The dashboard's view of a customer's batches: the Batch API's own objects (<see cref="BatchViews"/>, so status and
/// counts are what GET /v1/batches answers) with each batch's cost from the ledger (<see cref="UsageQueries.BatchTotalsAsync"/>).
/// </summary>
public sealed class DashboardBatches(BatchStore batches, BatchViews views, UsageQueries usage)
{
    /// <summary>The customer's batches, newest first, older than the batch <paramref name="before"/>.</summary>
    public async Task<DashboardBatchPage> PageAsync(string customerId, string? before, int limit, CancellationToken cancellationToken)
    {
        var jobs = await batches.ListAsync(customerId, before, limit, cancellationToken, cursorParam: "before");
        bool more = jobs.Count > limit;
        var page = jobs.Take(limit).ToList();
        var described = await DescribeAsync(customerId, page, cancellationToken);
        return new DashboardBatchPage(described, more, more ? page[^1].Id : null);
    }

    /// <summary>Asks the customer's batch to stop, as POST /v1/batches/{id}/cancel does (404 for another customer's, 409 once finished).</summary>
    public async Task<DashboardBatchObject> CancelAsync(string customerId, string id, CancellationToken cancellationToken)
    {
        var job = await batches.RequestCancelAsync(customerId, id, cancellationToken);
        return (await DescribeAsync(customerId, [job], cancellationToken))[0];
    }

    private async Task<IReadOnlyList<DashboardBatchObject>> DescribeAsync(string customerId, IReadOnlyList<BatchJob> jobs, CancellationToken cancellationToken)
    {
        var objects = await views.ViewAsync(jobs, cancellationToken);
        var costs = await usage.BatchTotalsAsync(customerId, jobs.Select(j => j.Id).ToList(), cancellationToken);
        return objects.Select(b => new DashboardBatchObject(
            b.Id,
            b.Status,
            b.Endpoint,
            b.CreatedAt,
            b.CompletedAt,
            b.CompletedAt ?? b.FailedAt ?? b.ExpiredAt ?? b.CancelledAt,
            b.ExpiresAt,
            b.RequestCounts,
            costs.TryGetValue(b.Id, out var totals) ? totals.CostMicroUsd : 0,
            b.OutputFileId,
            b.ErrorFileId,
            b.Errors?.Data ?? [],
            BatchStatus.IsCancellable(b.Status))).ToList();
    }
}
