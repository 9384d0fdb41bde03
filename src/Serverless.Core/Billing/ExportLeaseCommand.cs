using Serverless.Core.Metering;

namespace Serverless.Core.Billing;

/// <summary>Takes (or renews) a named lease for a holder if it is free or expired; the result says whether this holder has it.</summary>
internal sealed class ExportLeaseCommand(string name, string holder, DateTimeOffset now, TimeSpan duration) : LedgerCommand<bool>
{
    private const string Take = """
        INSERT INTO "ExportLeases" ("Name", "Holder", "ExpiresAt") VALUES (@name, @holder, @expires)
        ON CONFLICT ("Name") DO UPDATE SET "Holder" = excluded."Holder", "ExpiresAt" = excluded."ExpiresAt"
        WHERE "ExportLeases"."ExpiresAt" < @now OR "ExportLeases"."Holder" = @holder
        """;

    public override void Execute(LedgerBatch batch) =>
        Result = batch.Execute(Take, ("@name", name), ("@holder", holder), ("@expires", (now + duration).ToUnixTimeMilliseconds()), ("@now", now.ToUnixTimeMilliseconds())) == 1;
}
