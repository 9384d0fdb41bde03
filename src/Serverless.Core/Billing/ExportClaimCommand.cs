using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Serverless.Core.Metering;

namespace Serverless.Core.Billing;

/// <summary>
/// Takes up to N records from the export outbox and turns them into export buckets (per customer, meter and
/// time bucket), in one ledger transaction: the records leave the outbox exactly when their tokens are in a
/// bucket. A bucket never changes after it is created; later records for the same minute get a new bucket
/// with the next sequence number and its own identifier.
/// </summary>
internal sealed class ExportClaimCommand(int limit, TimeSpan bucketSize, IReadOnlyDictionary<string, string> eventNames, DateTimeOffset now)
    : LedgerCommand<int>
{
    private const string Claim = """
        DELETE FROM "ExportQueue" WHERE "RecordId" IN (
          SELECT q."RecordId" FROM "ExportQueue" q JOIN "Customers" c ON c."Id" = q."CustomerId"
          WHERE c."StripeCustomerId" IS NOT NULL ORDER BY q."RecordId" LIMIT @limit)
        RETURNING "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens"
        """;

    private const string StripeIds = """
        SELECT "Id", "StripeCustomerId" FROM "Customers" WHERE "StripeCustomerId" IS NOT NULL
        """;

    private const string LastSequence = """
        SELECT COALESCE(MAX("Sequence"), 0) FROM "ExportBuckets" WHERE "CustomerId" = @customer AND "Meter" = @meter AND "BucketStart" = @bucket
        """;

    private const string InsertBucket = """
        INSERT INTO "ExportBuckets" ("CustomerId", "StripeCustomerId", "Meter", "EventName", "BucketStart", "Sequence", "Identifier", "Value", "Records",
          "Status", "Attempts", "NextAttemptAt", "LastError", "Transport", "IsCorrection", "CreatedAt", "AcceptedAt")
        VALUES (@customer, @stripe, @meter, @event, @bucket, @sequence, @identifier, @value, @records, 'pending', 0, @now, NULL, NULL, FALSE, @now, NULL)
        """;

    public override void Execute(LedgerBatch batch)
    {
        var claimed = new Dictionary<(string Customer, long Bucket), (long Prompt, long Completion, long Records)>();
        using (var reader = batch.Command(Claim, ("@limit", (long)limit)).ExecuteReader())
        {
            long size = (long)bucketSize.TotalMilliseconds;
            while (reader.Read())
            {
                long ended = reader.GetInt64(1);
                var key = (reader.GetString(0), ended - (ended % size));
                claimed.TryGetValue(key, out var sum);
                claimed[key] = (sum.Prompt + reader.GetInt64(2), sum.Completion + reader.GetInt64(3), sum.Records + 1);
            }
        }

        if (claimed.Count == 0)
        {
            Result = 0;
            return;
        }

        var stripeIds = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var reader = batch.Command(StripeIds).ExecuteReader())
        {
            while (reader.Read())
            {
                stripeIds[reader.GetString(0)] = reader.GetString(1);
            }
        }

        int records = 0;
        foreach (var ((customer, bucket), sum) in claimed)
        {
            records += (int)sum.Records;
            foreach (var (meter, value) in new[] { (MeterKind.InputTokens, sum.Prompt), (MeterKind.OutputTokens, sum.Completion) })
            {
                if (value == 0)
                {
                    continue;
                }

                long sequence = Convert.ToInt64(batch.Command(LastSequence, ("@customer", customer), ("@meter", meter), ("@bucket", bucket)).ExecuteScalar(), CultureInfo.InvariantCulture) + 1;
                batch.Execute(
                    InsertBucket,
                    ("@customer", customer), ("@stripe", stripeIds[customer]), ("@meter", meter), ("@event", eventNames[meter]), ("@bucket", bucket),
                    ("@sequence", (int)sequence), ("@identifier", Identifier(customer, meter, bucket, sequence)), ("@value", value), ("@records", sum.Records),
                    ("@now", now.ToUnixTimeMilliseconds()));
            }
        }

        Result = records;
    }

    /// <summary>The meter event identifier of a bucket: the same bucket always gets the same identifier.</summary>
    public static string Identifier(string customer, string meter, long bucketStartMs, long sequence)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{customer}\n{meter}\n{bucketStartMs}\n{sequence}")));
        return "svl_" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
