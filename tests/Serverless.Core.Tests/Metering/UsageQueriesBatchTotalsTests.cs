using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;
using Serverless.Core.Tests.Keys;

namespace Serverless.Core.Tests.Metering;

/// <summary>What the dashboard shows as a batch's cost. Runs on both providers: <see cref="Sqlite"/> and <see cref="Postgres"/>.</summary>
public abstract class UsageQueriesBatchTotalsTests(string provider) : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(provider);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Batch_totals_sum_the_customers_records_of_each_batch_exactly_and_leave_out_batches_without_records()
    {
        await using var services = await KeyServices.StartAsync(_database, KeyServices.NewClock());
        var start = new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);
        int next = 0;
        UsageRecord Record(string customer, string? batch, long prompt, long completion, long cost) => new()
        {
            RequestId = $"req_{next++}",
            KeyId = "key_1",
            CustomerId = customer,
            Model = "demo",
            PromptTokens = prompt,
            CompletionTokens = completion,
            CostMicroUsd = cost,
            StartedAt = start.AddSeconds(next),
            EndedAt = start.AddSeconds(next + 1),
            Outcome = UsageOutcome.Completed,
            InstanceId = "test",
            BatchId = batch,
        };

        await using (var db = services.CreateDbContext())
        {
            db.AddRange(
                Record("acme", "batch_a", 10, 5, 1_234_567),
                Record("acme", "batch_a", 20, 7, 3),
                Record("acme", "batch_a", 1, 0, 0),
                Record("acme", "batch_b", 100, 50, 999_999_999_999),
                Record("acme", null, 1000, 1000, 42),
                Record("other", "batch_a", 5, 5, 77)); // another customer's record can never count for acme
            await db.SaveChangesAsync();
        }

        using var connections = new LedgerConnections(services.Services.GetRequiredService<IOptions<DatabaseOptions>>());
        var queries = new UsageQueries(connections);

        var totals = await queries.BatchTotalsAsync("acme", ["batch_a", "batch_b", "batch_none"], default);

        Assert.Equal(new UsageTotals(3, 31, 12, 1_234_570), totals["batch_a"]);
        Assert.Equal(new UsageTotals(1, 100, 50, 999_999_999_999), totals["batch_b"]);
        Assert.False(totals.ContainsKey("batch_none"));
        Assert.Equal(new UsageTotals(1, 5, 5, 77), (await queries.BatchTotalsAsync("other", ["batch_a"], default))["batch_a"]);
        Assert.Empty(await queries.BatchTotalsAsync("acme", [], default));
    }

    public sealed class Sqlite() : UsageQueriesBatchTotalsTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : UsageQueriesBatchTotalsTests(DatabaseOptions.PostgresProvider);
}
