namespace Serverless.Core.Metering;

/// <summary>The write path's SQL. Portable between SQLite and PostgreSQL: quoted identifiers, @parameters, ON CONFLICT, RETURNING.</summary>
internal static class LedgerSql
{
    public const string SelectPolicies = """
        SELECT "Scope", "RequestsPerMinute", "TokensPerMinute", "SpendCapMicroUsd", "TokenCap" FROM "LimitPolicies"
        WHERE ("Scope" = 'key' AND "ScopeId" = @key) OR ("Scope" = 'customer' AND "ScopeId" = @customer)
        """;

    // With the price's EffectiveFrom and the next price's, the range of times this answer holds for.
    public const string SelectPrice = """
        SELECT "Id", "InputMicroUsdPerMillion", "OutputMicroUsdPerMillion", "BatchDiscountBasisPoints", "EffectiveFrom",
          (SELECT MIN(n."EffectiveFrom") FROM "Prices" n WHERE n."Model" = @model AND n."EffectiveFrom" > @now) FROM "Prices"
        WHERE "Model" = @model AND "EffectiveFrom" <= @now ORDER BY "EffectiveFrom" DESC, "Id" DESC LIMIT 1
        """;

    // Admission takes from the rate windows of the key and of the customer in one statement: a scope's row is
    // created or incremented only if the request fits its limits; RETURNING lists the scopes that took it.
    // (VALUES columns are column1..4 on both SQLite and PostgreSQL.)
    public const string TakeFromWindows = """
        INSERT INTO "RateWindows" AS w ("Scope", "ScopeId", "WindowStart", "Requests", "Tokens")
        SELECT v.column1, v.column2, @window, @requests, @tokens
        FROM (VALUES ('key', @key, @keyRpm, @keyTpm), ('customer', @customer, @customerRpm, @customerTpm)) AS v
        WHERE @requests <= v.column3 AND @tokens <= v.column4
        ON CONFLICT ("Scope", "ScopeId", "WindowStart") DO UPDATE
          SET "Requests" = w."Requests" + excluded."Requests", "Tokens" = w."Tokens" + excluded."Tokens"
          WHERE w."Requests" + excluded."Requests" <= CASE w."Scope" WHEN 'key' THEN @keyRpm ELSE @customerRpm END
            AND w."Tokens" + excluded."Tokens" <= CASE w."Scope" WHEN 'key' THEN @keyTpm ELSE @customerTpm END
        RETURNING "Scope", "Requests", "Tokens"
        """;

    // A refused admission's undo: a row it created goes, one it added to gets its share back.
    public const string UntakeWindow = """
        UPDATE "RateWindows" SET "Requests" = "Requests" - @requests, "Tokens" = "Tokens" - @tokens
        WHERE "Scope" = @scope AND "ScopeId" = @id AND "WindowStart" = @window
        """;

    public const string PruneWindows = """
        DELETE FROM "RateWindows" WHERE "WindowStart" < @before
        """;

    public const string PruneIdempotency = """
        DELETE FROM "IdempotencyEntries" WHERE "CreatedAt" < @before
        """;

    public const string DeleteWindow = """
        DELETE FROM "RateWindows" WHERE "Scope" = @scope AND "ScopeId" = @id AND "WindowStart" = @window
        """;

    public const string UnreserveBudget = """
        UPDATE "BudgetUsage" SET "ReservedMicroUsd" = "ReservedMicroUsd" - @cost, "ReservedTokens" = "ReservedTokens" - @tokens
        WHERE "Scope" = @scope AND "ScopeId" = @id AND "PeriodStart" = @period
        """;

    public const string DeleteBudget = """
        DELETE FROM "BudgetUsage" WHERE "Scope" = @scope AND "ScopeId" = @id AND "PeriodStart" = @period
        """;

    public const string ReadWindow = """
        SELECT "Requests", "Tokens" FROM "RateWindows" WHERE "Scope" = @scope AND "ScopeId" = @id AND "WindowStart" = @window
        """;

    // SQLite: changes whenever another connection commits to the database (never for this connection's own commits).
    public const string DataVersion = "PRAGMA data_version";

    // SQLite: whether the next commit is fsynced (see LedgerWriter.SetSync). NORMAL in WAL mode still syncs at checkpoints.
    public const string SynchronousFull = "PRAGMA synchronous = FULL";

    public const string SynchronousNormal = "PRAGMA synchronous = NORMAL";

    // SQLite's per-batch counters (LedgerCounters): a row read once, then written once with what the batch made of it.
    public const string WriteWindow = """
        INSERT INTO "RateWindows" ("Scope", "ScopeId", "WindowStart", "Requests", "Tokens") VALUES (@scope, @id, @window, @requests, @tokens)
        ON CONFLICT ("Scope", "ScopeId", "WindowStart") DO UPDATE SET "Requests" = excluded."Requests", "Tokens" = excluded."Tokens"
        """;

    public const string ReadBudget = """
        SELECT "SpentMicroUsd", "ReservedMicroUsd", "SpentTokens", "ReservedTokens" FROM "BudgetUsage"
        WHERE "Scope" = @scope AND "ScopeId" = @id AND "PeriodStart" = @period
        """;

    public const string WriteBudget = """
        INSERT INTO "BudgetUsage" ("Scope", "ScopeId", "PeriodStart", "SpentMicroUsd", "ReservedMicroUsd", "SpentTokens", "ReservedTokens")
        VALUES (@scope, @id, @period, @spentCost, @reservedCost, @spentTokens, @reservedTokens)
        ON CONFLICT ("Scope", "ScopeId", "PeriodStart") DO UPDATE SET "SpentMicroUsd" = excluded."SpentMicroUsd",
          "ReservedMicroUsd" = excluded."ReservedMicroUsd", "SpentTokens" = excluded."SpentTokens", "ReservedTokens" = excluded."ReservedTokens"
        """;

    // The budget reservations of key and customer in one statement, like the windows: a scope's row is created or
    // its reservation raised only if the request fits its caps (a negative cap is no cap). RETURNING lists the
    // scopes that reserved.
    public const string ReserveBudgets = """
        INSERT INTO "BudgetUsage" AS b ("Scope", "ScopeId", "PeriodStart", "SpentMicroUsd", "ReservedMicroUsd", "SpentTokens", "ReservedTokens")
        SELECT v.column1, v.column2, @period, 0, @cost, 0, @tokens
        FROM (VALUES ('key', @key, @keySpendCap, @keyTokenCap), ('customer', @customer, @customerSpendCap, @customerTokenCap)) AS v
        WHERE (v.column3 < 0 OR @cost <= v.column3) AND (v.column4 < 0 OR @tokens <= v.column4)
        ON CONFLICT ("Scope", "ScopeId", "PeriodStart") DO UPDATE
          SET "ReservedMicroUsd" = b."ReservedMicroUsd" + excluded."ReservedMicroUsd", "ReservedTokens" = b."ReservedTokens" + excluded."ReservedTokens"
          WHERE (CASE b."Scope" WHEN 'key' THEN @keySpendCap ELSE @customerSpendCap END < 0
                 OR b."SpentMicroUsd" + b."ReservedMicroUsd" + excluded."ReservedMicroUsd" <= CASE b."Scope" WHEN 'key' THEN @keySpendCap ELSE @customerSpendCap END)
            AND (CASE b."Scope" WHEN 'key' THEN @keyTokenCap ELSE @customerTokenCap END < 0
                 OR b."SpentTokens" + b."ReservedTokens" + excluded."ReservedTokens" <= CASE b."Scope" WHEN 'key' THEN @keyTokenCap ELSE @customerTokenCap END)
        RETURNING "Scope", "SpentMicroUsd", "ReservedMicroUsd", "SpentTokens", "ReservedTokens"
        """;

    public const string InsertReservation = """
        INSERT INTO "Reservations" ("RequestId", "KeyId", "CustomerId", "Model", "InstanceId", "PriceVersion", "InputMicroUsdPerMillion",
          "OutputMicroUsdPerMillion", "DiscountBasisPoints", "PromptTokens", "MaxTokens", "ReservedMicroUsd", "PeriodStart", "WindowStart", "StartedAt", "BatchId")
        VALUES (@requestId, @key, @customer, @model, @instance, @priceVersion, @input, @output, @discount, @prompt, @max, @reserved, @period, @window, @started, @batch)
        """;

    // Only the instance that holds the reservation settles it: a batch line resumed elsewhere has moved it, and the
    // sweeper, which read it under its dead owner, must then leave it alone.
    public const string DeleteReservation = """
        DELETE FROM "Reservations" WHERE "RequestId" = @requestId AND "InstanceId" = @instance
        """;

    public const string TakeOverReservation = """
        UPDATE "Reservations" SET "InstanceId" = @instance, "StartedAt" = @started WHERE "RequestId" = @requestId
        RETURNING "KeyId", "CustomerId", "Model", "PriceVersion", "InputMicroUsdPerMillion", "OutputMicroUsdPerMillion", "DiscountBasisPoints",
          "PromptTokens", "MaxTokens", "ReservedMicroUsd", "PeriodStart", "WindowStart", "BatchId"
        """;

    public const string InsertUsage = """
        INSERT INTO "UsageRecords" ("RequestId", "KeyId", "CustomerId", "Model", "PromptTokens", "CompletionTokens", "CachedPromptTokens",
          "PriceVersion", "CostMicroUsd", "StartedAt", "EndedAt", "Outcome", "InstanceId", "BatchId", "CorrectsRequestId")
        VALUES (@requestId, @key, @customer, @model, @prompt, @completion, 0, @priceVersion, @cost, @started, @ended, @outcome, @instance, @batch, NULL)
        RETURNING "Id"
        """;

    // The record's row id comes back from the insert, so the export outbox refers to it without looking the record up.
    public const string EnqueueExport = """
        INSERT INTO "ExportQueue" ("RecordId", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens")
        VALUES (@recordId, @customer, @ended, @prompt, @completion)
        """;

    // PostgreSQL only (data-modifying WITH): the whole settlement in one statement, each part only if the reservation
    // was deleted here, as SettleCommand runs it one statement at a time on SQLite. Returns 1 if it settled.
    public const string SettleAtOnce = """
        WITH d AS (
          DELETE FROM "Reservations" WHERE "RequestId" = @requestId AND "InstanceId" = @holder RETURNING "RequestId"),
        u AS (
          INSERT INTO "UsageRecords" ("RequestId", "KeyId", "CustomerId", "Model", "PromptTokens", "CompletionTokens", "CachedPromptTokens",
            "PriceVersion", "CostMicroUsd", "StartedAt", "EndedAt", "Outcome", "InstanceId", "BatchId", "CorrectsRequestId")
          SELECT @requestId, @key, @customer, @model, @prompt, @completion, 0, @priceVersion, @cost, @started, @ended, @outcome, @instance, @batch, NULL
          FROM d
          RETURNING "Id"),
        e AS (
          INSERT INTO "ExportQueue" ("RecordId", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens")
          SELECT "Id", @customer, @ended, @prompt, @completion FROM u WHERE @prompt + @completion > 0),
        b AS (
          UPDATE "BudgetUsage" SET "ReservedMicroUsd" = "ReservedMicroUsd" - @reservedCost, "ReservedTokens" = "ReservedTokens" - @reservedTokens,
            "SpentMicroUsd" = "SpentMicroUsd" + @cost, "SpentTokens" = "SpentTokens" + @prompt + @completion
          WHERE EXISTS (SELECT 1 FROM d)
            AND (("Scope" = 'key' AND "ScopeId" = @key AND "PeriodStart" = @period)
              OR ("Scope" = 'customer' AND "ScopeId" = @customer AND "PeriodStart" = @period))),
        w AS (
          UPDATE "RateWindows" SET "Tokens" = "Tokens" - @unused
          WHERE @giveBack AND EXISTS (SELECT 1 FROM d)
            AND (("Scope" = 'key' AND "ScopeId" = @key AND "WindowStart" = @window)
              OR ("Scope" = 'customer' AND "ScopeId" = @customer AND "WindowStart" = @window)))
        SELECT COUNT(*) FROM d
        """;

    public const string SelectUsage = """
        SELECT "PromptTokens", "CompletionTokens", "PriceVersion", "CostMicroUsd", "Outcome" FROM "UsageRecords" WHERE "RequestId" = @requestId
        """;

    public const string SelectUsageWithBatchResult = """
        SELECT u."PromptTokens", u."CompletionTokens", u."PriceVersion", u."CostMicroUsd", u."Outcome", b."Result"
        FROM "UsageRecords" u LEFT JOIN "BatchLineResults" b ON b."RequestId" = u."RequestId"
        WHERE u."RequestId" = @requestId
        """;

    public const string InsertBatchResult = """
        INSERT INTO "BatchLineResults" ("RequestId", "BatchId", "Result") VALUES (@requestId, @batch, @result)
        """;

    public const string SelectIdempotency = """
        SELECT "RequestHash", "RequestId", "Result", "CreatedAt" FROM "IdempotencyEntries" WHERE "CustomerId" = @customer AND "Key" = @key
        """;

    public const string DeleteIdempotency = """
        DELETE FROM "IdempotencyEntries" WHERE "CustomerId" = @customer AND "Key" = @key
        """;

    public const string InsertIdempotency = """
        INSERT INTO "IdempotencyEntries" ("CustomerId", "Key", "RequestHash", "RequestId", "Result", "CreatedAt")
        VALUES (@customer, @key, @hash, @requestId, NULL, @now)
        """;

    public const string CompleteIdempotency = """
        UPDATE "IdempotencyEntries" SET "Result" = @result WHERE "CustomerId" = @customer AND "Key" = @key AND "RequestId" = @requestId
        """;

    public const string ReleaseIdempotency = """
        DELETE FROM "IdempotencyEntries" WHERE "CustomerId" = @customer AND "Key" = @key AND "RequestId" = @requestId
        """;

    public const string ReleaseIdempotencyOfRequest = """
        DELETE FROM "IdempotencyEntries" WHERE "CustomerId" = @customer AND "RequestId" = @requestId AND "Result" IS NULL
        """;

    public const string Heartbeat = """
        INSERT INTO "Instances" ("InstanceId", "Machine", "ProcessId", "StartedAt", "LastSeenAt") VALUES (@instance, @machine, @pid, @started, @now)
        ON CONFLICT ("InstanceId") DO UPDATE SET "LastSeenAt" = excluded."LastSeenAt"
        """;
}
