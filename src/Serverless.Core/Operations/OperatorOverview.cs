using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Metering;

namespace Serverless.Core.Operations;

/// <summary>
/// What an operator checks first, from the shared ledger so any instance (or the CLI) answers for the whole fleet:
/// the instances and what each held at its last heartbeat, the Stripe export's backlog and dead letters, the last
/// reconciliation, and today's (UTC) tokens and revenue by customer.
/// </summary>
public sealed class OperatorOverview(
    LedgerConnections connections,
    BillingAdmin billing,
    ExportBacklogReader backlogs,
    IOptions<MeteringOptions> metering,
    TimeProvider time)
{
    /// <summary>Instances silent for longer than this are no longer listed (a dead one stays visible for an hour).</summary>
    public static readonly TimeSpan ListedFor = TimeSpan.FromHours(1);

    private const string InstancesSql = """
        SELECT "InstanceId", "Machine", "StartedAt", "LastSeenAt", "ModelsLoaded", "SlotsInUse", "Slots", "Queued"
        FROM "Instances" WHERE "LastSeenAt" >= @since ORDER BY "StartedAt", "InstanceId"
        """;

    private const string TodaySql = """
        SELECT "CustomerId", COUNT(*), COALESCE(SUM("PromptTokens"), 0), COALESCE(SUM("CompletionTokens"), 0), COALESCE(SUM("CostMicroUsd"), 0)
        FROM "UsageRecords" WHERE "EndedAt" >= @start AND "EndedAt" < @end
        GROUP BY "CustomerId" ORDER BY "CustomerId"
        """;

    public async Task<OverviewObject> GetAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var instances = await InstancesAsync(now, cancellationToken);
        var today = await TodayAsync(dayStart, dayStart.AddDays(1), cancellationToken);
        var status = await billing.StatusAsync(cancellationToken);
        var backlog = await backlogs.ReadAsync(cancellationToken);
        var export = new ExportOverview(
            status.StripeConfigured, backlog.PendingRecords, backlog.OldestAge is { } lag ? Math.Round(lag.TotalSeconds, 1) : null, status.OutboxRecords,
            status.PendingBuckets, status.PendingTokens, status.DeadLetterBuckets, status.DeadLetterTokens);
        var reconciliation = status.LastReconciliationId is long id
            ? new ReconciliationOverview(id, status.LastReconciliationAt ?? 0, status.LastReconciliationDifferences ?? 0)
            : null;
        return new OverviewObject(now.ToUnixTimeSeconds(), instances, export, reconciliation, today);
    }

    private async Task<IReadOnlyList<InstanceOverview>> InstancesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var deadAfter = metering.Value.DeadInstanceAfter;
        var list = new List<InstanceOverview>();
        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        command.CommandText = InstancesSql;
        command.AddParameter("@since", (now - ListedFor).ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var lastSeen = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3));
            double age = Math.Max(0, (now - lastSeen).TotalSeconds);
            list.Add(new InstanceOverview(
                reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)).ToUnixTimeSeconds(), lastSeen.ToUnixTimeSeconds(),
                Math.Round(age, 1), now - lastSeen <= deadAfter,
                reader.IsDBNull(4) ? null : reader.GetString(4).Split(',', StringSplitOptions.RemoveEmptyEntries),
                NullableInt(reader, 5), NullableInt(reader, 6), NullableInt(reader, 7)));
        }

        return list;
    }

    private async Task<TodayOverview> TodayAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        var customers = new List<CustomerToday>();
        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        command.CommandText = TodaySql;
        command.AddParameter("@start", start.ToUnixTimeMilliseconds());
        command.AddParameter("@end", end.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            customers.Add(new CustomerToday(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
        }

        return new TodayOverview(
            start.ToUnixTimeSeconds(), customers, customers.Sum(c => c.Requests), customers.Sum(c => c.InputTokens), customers.Sum(c => c.OutputTokens),
            customers.Sum(c => c.RevenueMicroUsd));
    }

    private static int? NullableInt(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToInt32(reader.GetValue(ordinal), CultureInfo.InvariantCulture);
}
