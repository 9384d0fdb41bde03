using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Batches;

/// <summary>
/// What makes running a batch line twice safe, at the ledger itself, and a batch end to end, on both providers: a
/// line admitted again takes its reservation over, a settled line answers "already settled" with the output stored
/// with its record, only the holder of a reservation settles it, and the sweeper leaves batch lines to their
/// orchestration.
/// </summary>
public abstract class BatchLedgerTests(ServiceFixture service)
{
    [Collection(ServiceTestGroup.Name)]
    public sealed class Sqlite(ServiceFixture service) : BatchLedgerTests(service);

    [Collection(PostgresServiceTestGroup.Name)]
    public sealed class Postgres(PostgresServiceFixture service) : BatchLedgerTests(service);

    private const string DeadInstance = "gone-batch-machine:1:dead";

    private MeteringService Metering => service.Services.GetRequiredService<MeteringService>();

    private static AdmissionRequest Line(string batchId, string requestId, string key, string customer) => new()
    {
        RequestId = requestId,
        KeyId = key,
        CustomerId = customer,
        Model = "demo",
        PromptTokens = 10,
        MaxTokens = 20,
        BatchId = batchId,
    };

    private async Task MoveToDeadInstanceAsync(string requestId, TimeSpan age)
    {
        await using var db = service.Database();
        var now = DateTimeOffset.UtcNow;
        if (!await db.Set<LedgerInstance>().AnyAsync(i => i.InstanceId == DeadInstance))
        {
            db.Add(new LedgerInstance { InstanceId = DeadInstance, Machine = "gone-batch-machine", ProcessId = 1, StartedAt = now.AddHours(-3), LastSeenAt = now.AddHours(-2) });
            await db.SaveChangesAsync();
        }

        var started = now - age;
        await db.Set<Reservation>().Where(r => r.RequestId == requestId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.InstanceId, DeadInstance).SetProperty(r => r.StartedAt, started));
    }

    [Fact]
    public async Task A_batch_line_admitted_again_resumes_its_reservation_and_is_recorded_once_at_the_batch_price()
    {
        string suffix = Guid.NewGuid().ToString("N")[..12];
        string batchId = "batch_" + suffix;
        string requestId = batchId + "-0";
        string key = "bk" + suffix;
        string customer = "batch-ledger-" + suffix;

        var first = await Metering.AdmitAsync(Line(batchId, requestId, key, customer));
        Assert.Equal(AdmissionStatus.Admitted, first.Status);
        Assert.False(first.Resumed);
        Assert.Null(first.RateLimits);
        Assert.Equal(ServiceFixture.BatchDiscount, first.Reservation!.DiscountBasisPoints);

        // The attempt's process dies while generating: nobody settles its reservation, and the sweeper must not either.
        await MoveToDeadInstanceAsync(requestId, TimeSpan.FromMinutes(5));
        await service.Services.GetRequiredService<ReservationSweeper>().SweepAsync(CancellationToken.None);
        await using (var db = service.Database())
        {
            Assert.True(await db.Set<Reservation>().AnyAsync(r => r.RequestId == requestId));
        }

        var again = await Metering.AdmitAsync(Line(batchId, requestId, key, customer));
        Assert.Equal(AdmissionStatus.Admitted, again.Status);
        Assert.True(again.Resumed);
        Assert.Equal(Metering.InstanceId, again.Reservation!.InstanceId);
        Assert.Equal(first.Reservation.ReservedMicroUsd, again.Reservation.ReservedMicroUsd);

        // The overtaken attempt, had it lived, could not settle: the reservation is no longer its own.
        first.Reservation.InstanceId = DeadInstance;
        var stale = await Metering.SettleAsync(new SettlementRequest { Reservation = first.Reservation, CompletionTokens = 20, Outcome = UsageOutcome.Length, EndedAt = DateTimeOffset.UtcNow });
        Assert.False(stale.SettledHere);

        const string Output = """{"custom_id":"line-0","response":{"status_code":200}}""";
        var settled = await Metering.SettleAsync(new SettlementRequest { Reservation = again.Reservation, CompletionTokens = 17, Outcome = UsageOutcome.Completed, EndedAt = DateTimeOffset.UtcNow, BatchResult = Output });
        Assert.True(settled.SettledHere);
        long cost = CostCalculator.CostMicroUsd(10, 17, ServiceFixture.InputPrice, ServiceFixture.OutputPrice, ServiceFixture.BatchDiscount);
        Assert.Equal(cost, settled.CostMicroUsd);

        var done = await Metering.AdmitAsync(Line(batchId, requestId, key, customer));
        Assert.Equal(AdmissionStatus.AlreadySettled, done.Status);
        Assert.Null(done.Reservation);
        Assert.Equal((10L, 17L, cost, UsageOutcome.Completed), (done.Settlement!.PromptTokens, done.Settlement.CompletionTokens, done.Settlement.CostMicroUsd, done.Settlement.Outcome));
        Assert.Equal(Output, done.Settlement.BatchResult);

        await using var check = service.Database();
        var record = await check.Set<UsageRecord>().AsNoTracking().SingleAsync(r => r.RequestId == requestId);
        Assert.Equal((batchId, 17L, cost), (record.BatchId, record.CompletionTokens, record.CostMicroUsd));
        Assert.False(await check.Set<Reservation>().AnyAsync(r => r.RequestId == requestId));
        var budget = await check.Set<BudgetUsage>().AsNoTracking().SingleAsync(b => b.Scope == LimitScope.Customer && b.ScopeId == customer);
        Assert.Equal((cost, 0L), (budget.SpentMicroUsd, budget.ReservedMicroUsd));
        Assert.False(await check.Set<RateWindow>().AnyAsync(w => w.ScopeId == key || w.ScopeId == customer), "batch lines take nothing from the rate windows");
    }

    [Fact]
    public async Task A_batch_reservation_nobody_resumed_within_the_orphan_age_is_settled_by_the_sweeper()
    {
        string suffix = Guid.NewGuid().ToString("N")[..12];
        string requestId = $"batch_{suffix}-3";
        var admitted = await Metering.AdmitAsync(Line("batch_" + suffix, requestId, "bk" + suffix, "batch-orphan-" + suffix));
        Assert.Equal(AdmissionStatus.Admitted, admitted.Status);
        await MoveToDeadInstanceAsync(requestId, TimeSpan.FromHours(2));

        // The host's own sweeper may get there first; either way the line ends settled, prompt billed.
        await service.Services.GetRequiredService<ReservationSweeper>().SweepAsync(CancellationToken.None);
        await using var db = service.Database();
        Assert.Equal(UsageOutcome.FailedAfterStart, (await db.Set<UsageRecord>().AsNoTracking().SingleAsync(r => r.RequestId == requestId)).Outcome);
    }

    [Fact]
    public async Task A_batch_runs_with_live_progress_and_a_second_one_is_cancelled()
    {
        using var client = service.CreateClient();
        var lines = Enumerable.Range(0, 6).Select(i => BatchCalls.CompletionLine($"p{i}", 4)).ToList();
        string done = (await client.CreateBatchAsync(await client.UploadAsync(lines))).GetProperty("id").GetString()!;
        var batch = await client.WaitUntilDoneAsync(done);
        Assert.Equal(("completed", (6, 6, 0)), (BatchCalls.Status(batch), BatchCalls.Counts(batch)));
        Assert.Equal(6, (await client.ReadFileLinesAsync(batch.OptionalString("output_file_id"))).Count);

        var longLines = Enumerable.Range(0, 32).Select(i => BatchCalls.CompletionLine($"q{i}", 300)).ToList();
        string cancelled = (await client.CreateBatchAsync(await client.UploadAsync(longLines))).GetProperty("id").GetString()!;
        var running = await client.WaitForBatchAsync(cancelled, b => BatchCalls.Counts(b).Completed > 0, TimeSpan.FromSeconds(60), "progress");
        Assert.Equal("in_progress", BatchCalls.Status(running));
        using (await client.PostAsync($"/v1/batches/{cancelled}/cancel", null))
        {
        }

        var stopped = await client.WaitUntilDoneAsync(cancelled);
        Assert.Equal("cancelled", BatchCalls.Status(stopped));
        var (total, completed, _) = BatchCalls.Counts(stopped);
        Assert.Equal(32, total);
        await using var db = service.Database();
        Assert.Equal(completed, await db.Set<UsageRecord>().CountAsync(r => r.BatchId == cancelled));
    }
}
