using System.Data.Common;
using System.Globalization;
using Serverless.Core.Data;

namespace Serverless.Core.Metering;

public enum UsageGrouping
{
    Day,
    Model,
    Key,
}

/// <summary>Totals of a group of usage records.</summary>
public sealed record UsageTotals(long Requests, long PromptTokens, long CompletionTokens, long CostMicroUsd)
{
    public static readonly UsageTotals Zero = new(0, 0, 0, 0);

    public UsageTotals Add(UsageTotals other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Requests + other.Requests, PromptTokens + other.PromptTokens, CompletionTokens + other.CompletionTokens, CostMicroUsd + other.CostMicroUsd);
    }
}

public sealed record UsageGroup(string Group, UsageTotals Totals);

/// <summary>
/// Aggregates over the ledger, computed by the database (GROUP BY over indexed columns), in SQL that runs on
/// SQLite and PostgreSQL alike. Days are UTC days of the record's end time.
/// </summary>
public sealed class UsageQueries(LedgerConnections connections)
{
    private const long DayMs = 86_400_000;

    public async Task<IReadOnlyList<UsageGroup>> GroupAsync(string customerId, DateTimeOffset start, DateTimeOffset end, UsageGrouping grouping, CancellationToken cancellationToken)
    {
        string groupColumn = grouping switch
        {
            UsageGrouping.Day => "(\"EndedAt\" / " + DayMs.ToString(CultureInfo.InvariantCulture) + ")",
            UsageGrouping.Model => "\"Model\"",
            _ => "\"KeyId\"",
        };
        string sql = $"""
            SELECT {groupColumn} AS grp, COUNT(*), COALESCE(SUM("PromptTokens"), 0), COALESCE(SUM("CompletionTokens"), 0), COALESCE(SUM("CostMicroUsd"), 0)
            FROM "UsageRecords"
            WHERE "CustomerId" = @customer AND "EndedAt" >= @start AND "EndedAt" < @end
            GROUP BY {groupColumn}
            ORDER BY 1
            """;
        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.AddParameter("@customer", customerId);
        command.AddParameter("@start", start.ToUnixTimeMilliseconds());
        command.AddParameter("@end", end.ToUnixTimeMilliseconds());
        var groups = new List<UsageGroup>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string group = grouping == UsageGrouping.Day
                ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture) * DayMs).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                : reader.GetString(0);
            groups.Add(new UsageGroup(group, new UsageTotals(
                Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture))));
        }

        return groups;
    }

    /// <summary>
    /// The customer's records of each of these batches, totalled: what the batches have cost so far, to the micro-dollar.
    /// Batches without records are absent from the answer.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, UsageTotals>> BatchTotalsAsync(string customerId, IReadOnlyCollection<string> batchIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        ArgumentNullException.ThrowIfNull(batchIds);
        var totals = new Dictionary<string, UsageTotals>(StringComparer.Ordinal);
        if (batchIds.Count == 0)
        {
            return totals;
        }

        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        var names = new List<string>(batchIds.Count);
        foreach (string batchId in batchIds)
        {
            string name = "@b" + names.Count.ToString(CultureInfo.InvariantCulture);
            names.Add(name);
            command.AddParameter(name, batchId);
        }

        command.AddParameter("@customer", customerId);
        command.CommandText = $"""
            SELECT "BatchId", COUNT(*), COALESCE(SUM("PromptTokens"), 0), COALESCE(SUM("CompletionTokens"), 0), COALESCE(SUM("CostMicroUsd"), 0)
            FROM "UsageRecords"
            WHERE "BatchId" IN ({string.Join(", ", names)}) AND "CustomerId" = @customer
            GROUP BY "BatchId"
            """;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals[reader.GetString(0)] = new UsageTotals(
                Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture));
        }

        return totals;
    }

    /// <summary>Every record in a time range (all customers, or one), oldest first, streamed.</summary>
    public async IAsyncEnumerable<UsageRecord> RecordsAsync(string? customerId, DateTimeOffset start, DateTimeOffset end, long? limit, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string sql = $"""
            SELECT "RequestId", "KeyId", "CustomerId", "Model", "PromptTokens", "CompletionTokens", "CachedPromptTokens", "PriceVersion",
              "CostMicroUsd", "StartedAt", "EndedAt", "Outcome", "InstanceId", "BatchId", "CorrectsRequestId", "Id"
            FROM "UsageRecords"
            WHERE "EndedAt" >= @start AND "EndedAt" < @end {(customerId is null ? string.Empty : "AND \"CustomerId\" = @customer")}
            ORDER BY "EndedAt", "Id"
            {(limit is null ? string.Empty : "LIMIT @limit")}
            """;
        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.AddParameter("@start", start.ToUnixTimeMilliseconds());
        command.AddParameter("@end", end.ToUnixTimeMilliseconds());
        if (customerId is not null)
        {
            command.AddParameter("@customer", customerId);
        }

        if (limit is long max)
        {
            command.AddParameter("@limit", max);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    /// <summary>
    /// A customer's records newest first, one page at a time: those ending before <paramref name="before"/> (the
    /// last record of the previous page, compared as end time then id), so pages stay stable while new records arrive.
    /// </summary>
    public async Task<IReadOnlyList<UsageRecord>> RecentAsync(string customerId, UsageCursor? before, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        string sql = $"""
            SELECT "RequestId", "KeyId", "CustomerId", "Model", "PromptTokens", "CompletionTokens", "CachedPromptTokens", "PriceVersion",
              "CostMicroUsd", "StartedAt", "EndedAt", "Outcome", "InstanceId", "BatchId", "CorrectsRequestId", "Id"
            FROM "UsageRecords"
            WHERE "CustomerId" = @customer {(before is null ? string.Empty : "AND (\"EndedAt\" < @endedAt OR (\"EndedAt\" = @endedAt AND \"Id\" < @id))")}
            ORDER BY "EndedAt" DESC, "Id" DESC
            LIMIT @limit
            """;
        await using var connection = connections.OpenForReading();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.AddParameter("@customer", customerId);
        command.AddParameter("@limit", (long)limit);
        if (before is { } cursor)
        {
            command.AddParameter("@endedAt", cursor.EndedAtMs);
            command.AddParameter("@id", cursor.Id);
        }

        var records = new List<UsageRecord>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(Read(reader));
        }

        return records;
    }

    private static UsageRecord Read(DbDataReader reader) => new()
    {
        RequestId = reader.GetString(0),
        KeyId = reader.GetString(1),
        CustomerId = reader.GetString(2),
        Model = reader.GetString(3),
        PromptTokens = reader.GetInt64(4),
        CompletionTokens = reader.GetInt64(5),
        CachedPromptTokens = reader.GetInt64(6),
        PriceVersion = reader.GetInt64(7),
        CostMicroUsd = reader.GetInt64(8),
        StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)),
        EndedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
        Outcome = reader.GetString(11),
        InstanceId = reader.GetString(12),
        BatchId = reader.IsDBNull(13) ? null : reader.GetString(13),
        CorrectsRequestId = reader.IsDBNull(14) ? null : reader.GetString(14),
        Id = reader.GetInt64(15),
    };
}

/// <summary>Where a page of <see cref="UsageQueries.RecentAsync"/> ends: the last record's end time (Unix ms) and id.</summary>
public readonly record struct UsageCursor(long EndedAtMs, long Id)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{EndedAtMs}_{Id}");

    public static bool TryParse(string? text, out UsageCursor cursor)
    {
        cursor = default;
        int split = text?.IndexOf('_', StringComparison.Ordinal) ?? -1;
        if (split <= 0
            || !long.TryParse(text.AsSpan(0, split), NumberStyles.None, CultureInfo.InvariantCulture, out long endedAt)
            || !long.TryParse(text.AsSpan(split + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
        {
            return false;
        }

        cursor = new UsageCursor(endedAt, id);
        return true;
    }
}
