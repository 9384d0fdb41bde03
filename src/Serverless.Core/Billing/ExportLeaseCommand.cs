using Serverless.Core.Metering;

namespace Serverless.Core.Billing;

/// <summary>What an <see cref="ExportLeaseCommand"/> does to the lease row.</summary>
internal enum ExportLeaseAction
{
    /// <summary>Take the lease if it is free or expired (or already this holder's); true if this holder has it now.</summary>
    Take,

    /// <summary>Extend the lease only if this holder still has it and it has not expired; false means it was lost.</summary>
    Renew,

    /// <summary>Give the lease up if this holder still has it (a no-op otherwise); true if a row was removed.</summary>
    Release,
}

/// <summary>
/// Takes, renews or releases a named lease for a holder, each in one statement (atomic on SQLite and PostgreSQL
/// alike): a holder never renews or releases a lease that another holder has taken over.
/// </summary>
internal sealed class ExportLeaseCommand(string name, string holder, DateTimeOffset now, TimeSpan duration, ExportLeaseAction action = ExportLeaseAction.Take)
    : LedgerCommand<bool>
{
    private const string Take = """
        INSERT INTO "ExportLeases" ("Name", "Holder", "ExpiresAt") VALUES (@name, @holder, @expires)
        ON CONFLICT ("Name") DO UPDATE SET "Holder" = excluded."Holder", "ExpiresAt" = excluded."ExpiresAt"
        WHERE "ExportLeases"."ExpiresAt" < @now OR "ExportLeases"."Holder" = @holder
        """;

    private const string Renew = """
        UPDATE "ExportLeases" SET "ExpiresAt" = @expires
        WHERE "Name" = @name AND "Holder" = @holder AND "ExpiresAt" >= @now
        """;

    private const string Release = """
        DELETE FROM "ExportLeases" WHERE "Name" = @name AND "Holder" = @holder
        """;

    public override void Execute(LedgerBatch batch)
    {
        string sql = action switch
        {
            ExportLeaseAction.Take => Take,
            ExportLeaseAction.Renew => Renew,
            _ => Release,
        };
        Result = action == ExportLeaseAction.Release
            ? batch.Execute(sql, ("@name", name), ("@holder", holder)) == 1
            : batch.Execute(sql, ("@name", name), ("@holder", holder), ("@expires", (now + duration).ToUnixTimeMilliseconds()), ("@now", now.ToUnixTimeMilliseconds())) == 1;
    }
}
