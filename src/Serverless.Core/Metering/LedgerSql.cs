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

    public const string PruneWindows = """
        DELETE FROM "RateWindows" WHERE "WindowStart" < @before
        """;

    public const string PruneIdempotency = """
        DELETE FROM "IdempotencyEntries" WHERE "CreatedAt" < @before
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
        INSERT INTO "Instances" ("InstanceId", "Machine", "ProcessId", "StartedAt", "LastSeenAt", "ModelsLoaded", "SlotsInUse", "Slots", "Queued")
        VALUES (@instance, @machine, @pid, @started, @now, @models, @inUse, @slots, @queued)
        ON CONFLICT ("InstanceId") DO UPDATE SET "LastSeenAt" = excluded."LastSeenAt", "ModelsLoaded" = excluded."ModelsLoaded",
            "SlotsInUse" = excluded."SlotsInUse", "Slots" = excluded."Slots", "Queued" = excluded."Queued"
        """;

    // PostgreSQL (PostgresPrefetch): before any command of a batch runs, the rate windows and budgets it will use are
    // locked and read, one statement per table, in one order for every instance (rows are locked in the order of the
    // sort below), so two writers wait for each other rather than deadlock.
    public const string LockWindows = """
        SELECT w."Scope", w."ScopeId", w."WindowStart", w."Requests", w."Tokens"
        FROM unnest(@scopes, @ids, @starts) AS v(s, i, t)
        JOIN "RateWindows" w ON w."Scope" = v.s AND w."ScopeId" = v.i AND w."WindowStart" = v.t
        ORDER BY 1, 2, 3 FOR UPDATE OF w
        """;

    public const string LockBudgets = """
        SELECT b."Scope", b."ScopeId", b."PeriodStart", b."SpentMicroUsd", b."ReservedMicroUsd", b."SpentTokens", b."ReservedTokens"
        FROM unnest(@scopes, @ids, @starts) AS v(s, i, t)
        JOIN "BudgetUsage" b ON b."Scope" = v.s AND b."ScopeId" = v.i AND b."PeriodStart" = v.t
        ORDER BY 1, 2, 3 FOR UPDATE OF b
        """;

    // A row that did not exist (a new minute's window, a new period's budget) is created empty so it can be locked
    // too, then read like the others; RETURNING lists those created here, which the batch removes again if nothing
    // used them. WHERE false locks a row another instance created meanwhile without writing a new version of it.
    public const string CreateWindows = """
        INSERT INTO "RateWindows" AS w ("Scope", "ScopeId", "WindowStart", "Requests", "Tokens")
        SELECT v.s, v.i, v.t, 0, 0 FROM unnest(@scopes, @ids, @starts) AS v(s, i, t) ORDER BY 1, 2, 3
        ON CONFLICT ("Scope", "ScopeId", "WindowStart") DO UPDATE SET "Requests" = w."Requests" WHERE false
        RETURNING "Scope", "ScopeId", "WindowStart"
        """;

    public const string CreateBudgets = """
        INSERT INTO "BudgetUsage" AS b ("Scope", "ScopeId", "PeriodStart", "SpentMicroUsd", "ReservedMicroUsd", "SpentTokens", "ReservedTokens")
        SELECT v.s, v.i, v.t, 0, 0, 0, 0 FROM unnest(@scopes, @ids, @starts) AS v(s, i, t) ORDER BY 1, 2, 3
        ON CONFLICT ("Scope", "ScopeId", "PeriodStart") DO UPDATE SET "SpentMicroUsd" = b."SpentMicroUsd" WHERE false
        RETURNING "Scope", "ScopeId", "PeriodStart"
        """;

    // The reservations the batch's settlements settle, deleted up front (the guard against settling twice): each
    // only by the instance that holds it. RETURNING lists those deleted, which the settlements then bill.
    public const string DeleteReservations = """
        DELETE FROM "Reservations" r USING (SELECT * FROM unnest(@ids, @holders) AS v(i, h) ORDER BY 1, 2) AS v
        WHERE r."RequestId" = v.i AND r."InstanceId" = v.h
        RETURNING r."RequestId", r."InstanceId"
        """;

    public const string SelectPoliciesOf = """
        SELECT "Scope", "ScopeId", "RequestsPerMinute", "TokensPerMinute", "SpendCapMicroUsd", "TokenCap" FROM "LimitPolicies"
        WHERE ("Scope" = 'key' AND "ScopeId" = ANY(@keys)) OR ("Scope" = 'customer' AND "ScopeId" = ANY(@customers))
        """;

    // SelectPrice for several models at once.
    public const string SelectPricesOf = """
        SELECT v.m, p."Id", p."InputMicroUsdPerMillion", p."OutputMicroUsdPerMillion", p."BatchDiscountBasisPoints", p."EffectiveFrom",
          (SELECT MIN(n."EffectiveFrom") FROM "Prices" n WHERE n."Model" = v.m AND n."EffectiveFrom" > v.t)
        FROM unnest(@models, @nows) AS v(m, t)
        CROSS JOIN LATERAL (
          SELECT x."Id", x."InputMicroUsdPerMillion", x."OutputMicroUsdPerMillion", x."BatchDiscountBasisPoints", x."EffectiveFrom" FROM "Prices" x
          WHERE x."Model" = v.m AND x."EffectiveFrom" <= v.t ORDER BY x."EffectiveFrom" DESC, x."Id" DESC LIMIT 1) p
        """;

    // PostgreSQL (PostgresWrites): what a whole batch writes, one statement per table over arrays.
    // The records' ids come back from the insert, so the export outbox refers to them without looking them up.
    public const string InsertUsages = """
        WITH u AS (
          INSERT INTO "UsageRecords" ("RequestId", "KeyId", "CustomerId", "Model", "PromptTokens", "CompletionTokens", "CachedPromptTokens",
            "PriceVersion", "CostMicroUsd", "StartedAt", "EndedAt", "Outcome", "InstanceId", "BatchId", "CorrectsRequestId")
          SELECT v.r, v.k, v.c, v.m, v.p, v.co, 0, v.pv, v.cost, v.st, v.en, v.o, v.i, v.b, NULL
          FROM unnest(@requestIds, @keys, @customers, @models, @prompts, @completions, @priceVersions, @costs, @starts, @ends, @outcomes, @instances, @batches)
            AS v(r, k, c, m, p, co, pv, cost, st, en, o, i, b)
          RETURNING "Id", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens")
        INSERT INTO "ExportQueue" ("RecordId", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens")
        SELECT "Id", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens" FROM u WHERE "PromptTokens" + "CompletionTokens" > 0 ORDER BY "Id"
        """;

    public const string InsertReservations = """
        INSERT INTO "Reservations" ("RequestId", "KeyId", "CustomerId", "Model", "InstanceId", "PriceVersion", "InputMicroUsdPerMillion",
          "OutputMicroUsdPerMillion", "DiscountBasisPoints", "PromptTokens", "MaxTokens", "ReservedMicroUsd", "PeriodStart", "WindowStart", "StartedAt", "BatchId")
        SELECT * FROM unnest(@requestIds, @keys, @customers, @models, @instances, @priceVersions, @inputs, @outputs, @discounts, @prompts, @maxes,
          @reserved, @periods, @windows, @starts, @batches)
        """;

    public const string UpdateWindows = """
        UPDATE "RateWindows" AS w SET "Requests" = v.r, "Tokens" = v.n
        FROM unnest(@scopes, @ids, @starts, @requests, @tokens) AS v(s, i, t, r, n)
        WHERE w."Scope" = v.s AND w."ScopeId" = v.i AND w."WindowStart" = v.t
        """;

    public const string DeleteWindows = """
        DELETE FROM "RateWindows" w USING unnest(@scopes, @ids, @starts) AS v(s, i, t)
        WHERE w."Scope" = v.s AND w."ScopeId" = v.i AND w."WindowStart" = v.t
        """;

    public const string UpdateBudgets = """
        UPDATE "BudgetUsage" AS b SET "SpentMicroUsd" = v.sc, "ReservedMicroUsd" = v.rc, "SpentTokens" = v.st, "ReservedTokens" = v.rt
        FROM unnest(@scopes, @ids, @starts, @spentCosts, @reservedCosts, @spentTokens, @reservedTokens) AS v(s, i, t, sc, rc, st, rt)
        WHERE b."Scope" = v.s AND b."ScopeId" = v.i AND b."PeriodStart" = v.t
        """;

    public const string DeleteBudgets = """
        DELETE FROM "BudgetUsage" b USING unnest(@scopes, @ids, @starts) AS v(s, i, t)
        WHERE b."Scope" = v.s AND b."ScopeId" = v.i AND b."PeriodStart" = v.t
        """;
}
