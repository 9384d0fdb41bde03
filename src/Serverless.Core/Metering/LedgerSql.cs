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

    // PostgreSQL: every writer takes the row locks of rate windows and budgets in one global order, so writers on several
    // instances wait for each other instead of deadlocking: the windows before the budgets, and in each table first
    // the rows it creates (CreateWindows, CreateBudgets: sorted, a new row is the inserter's until it commits), then
    // the existing ones (LockWindows and LockBudgets on the locking path, GuardWindows and GuardBudgets on the guarded
    // one: sorted). An UPDATE or FOR UPDATE never waits for a row another transaction inserted and has not committed
    // (it does not see it), so the two phases cannot wait on each other in a cycle.
    //
    // The locking path (PostgresPrefetch): read and lock every row the commands will decide on, before they run.
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

    // A row that does not exist yet (a new minute's window, a new period's budget) is created empty, so it can be
    // locked (it is this transaction's until it commits) and added to; RETURNING lists those created here, which the
    // locking path removes again if nothing used them. An existing row is left alone (and not locked): the lock or the
    // guarded update that follows takes it, in order. Another instance's uncommitted insert of the same row is waited for.
    public const string CreateWindows = """
        INSERT INTO "RateWindows" ("Scope", "ScopeId", "WindowStart", "Requests", "Tokens")
        SELECT v.s, v.i, v.t, 0, 0 FROM unnest(@scopes, @ids, @starts) AS v(s, i, t) ORDER BY 1, 2, 3
        ON CONFLICT ("Scope", "ScopeId", "WindowStart") DO NOTHING
        RETURNING "Scope", "ScopeId", "WindowStart"
        """;

    public const string CreateBudgets = """
        INSERT INTO "BudgetUsage" ("Scope", "ScopeId", "PeriodStart", "SpentMicroUsd", "ReservedMicroUsd", "SpentTokens", "ReservedTokens")
        SELECT v.s, v.i, v.t, 0, 0, 0, 0 FROM unnest(@scopes, @ids, @starts) AS v(s, i, t) ORDER BY 1, 2, 3
        ON CONFLICT ("Scope", "ScopeId", "PeriodStart") DO NOTHING
        RETURNING "Scope", "ScopeId", "PeriodStart"
        """;

    // The guarded path (PostgresWrites): no lock is taken before the commands run. They decide on the values this
    // writer last saw, and the batch's net change of each row is added in one statement per table, just before the
    // COMMIT, in key order (the sorted, materialized list is the outer side of the join, so rows are updated, and
    // locked, in its order). A row that admissions took from (g) is changed only if it stays within its limits as it
    // is now (READ COMMITTED re-checks the condition on the newest version of a row another writer just changed):
    // requests and tokens per minute; a budget's spend and token caps (negative: none). A row only settlements gave
    // back to is changed if it exists, as on the locking path. The changed rows come back by their position in the arrays
    // (from 1) with their new values. If any guarded row was not changed, the division by zero
    // fails the statement, the server skips the rest of the round trip (COMMIT included) and the writer rolls the batch
    // back and runs it again on the locking path, where the commands decide on locked rows.
    public const string GuardWindows = """
        WITH v AS MATERIALIZED (
          SELECT * FROM unnest(@scopes, @ids, @starts, @requests, @tokens, @guarded, @requestLimits, @tokenLimits) WITH ORDINALITY
            AS v(s, i, t, r, n, g, lr, ln, o) ORDER BY 1, 2, 3),
        u AS (
          UPDATE "RateWindows" AS w SET "Requests" = w."Requests" + v.r, "Tokens" = w."Tokens" + v.n
          FROM v
          WHERE w."Scope" = v.s AND w."ScopeId" = v.i AND w."WindowStart" = v.t
            AND (NOT v.g OR (w."Requests" + v.r <= v.lr AND w."Tokens" + v.n <= v.ln))
          RETURNING v.o, w."Requests", w."Tokens", v.g)
        SELECT u.o, u."Requests", u."Tokens", c.n / (CASE WHEN c.n = @guardedCount THEN 1 ELSE 0 END)
        FROM (SELECT count(*) FILTER (WHERE u.g) AS n FROM u) c LEFT JOIN u ON true
        """;

    public const string GuardBudgets = """
        WITH v AS MATERIALIZED (
          SELECT * FROM unnest(@scopes, @ids, @starts, @spentCosts, @reservedCosts, @spentTokens, @reservedTokens, @guarded, @costLimits, @tokenLimits)
            WITH ORDINALITY AS v(s, i, t, sc, rc, st, rt, g, lc, lt, o) ORDER BY 1, 2, 3),
        u AS (
          UPDATE "BudgetUsage" AS b SET "SpentMicroUsd" = b."SpentMicroUsd" + v.sc, "ReservedMicroUsd" = b."ReservedMicroUsd" + v.rc,
            "SpentTokens" = b."SpentTokens" + v.st, "ReservedTokens" = b."ReservedTokens" + v.rt
          FROM v
          WHERE b."Scope" = v.s AND b."ScopeId" = v.i AND b."PeriodStart" = v.t
            AND (NOT v.g OR ((v.lc < 0 OR b."SpentMicroUsd" + b."ReservedMicroUsd" + v.sc + v.rc <= v.lc)
              AND (v.lt < 0 OR b."SpentTokens" + b."ReservedTokens" + v.st + v.rt <= v.lt)))
          RETURNING v.o, b."SpentMicroUsd", b."ReservedMicroUsd", b."SpentTokens", b."ReservedTokens", v.g)
        SELECT u.o, u."SpentMicroUsd", u."ReservedMicroUsd", u."SpentTokens", u."ReservedTokens", c.n / (CASE WHEN c.n = @guardedCount THEN 1 ELSE 0 END)
        FROM (SELECT count(*) FILTER (WHERE u.g) AS n FROM u) c LEFT JOIN u ON true
        """;

    // The one-round-trip path (LedgerBatch.OneRoundTrip): what a batch took from the writer's hints instead of reading it,
    // checked first in its only round trip. A difference fails the statement (division by zero), the server skips the
    // rest of the round trip, COMMIT included, and the writer runs the batch again on the two-round-trip path.
    // Every reservation the settlements bill, deleted by its holder (the guard against settling twice), in the order of
    // DeleteReservations.
    public const string DeleteReservationsExactly = """
        WITH d AS (
          DELETE FROM "Reservations" r USING (SELECT * FROM unnest(@ids, @holders) AS v(i, h) ORDER BY 1, 2) AS v
          WHERE r."RequestId" = v.i AND r."InstanceId" = v.h
          RETURNING 1)
        SELECT 1 / (CASE WHEN count(*) = cardinality(@ids) THEN 1 ELSE 0 END) FROM d
        """;

    // The limits the admissions decided on: each key's and customer's policy row, or the defaults where it has none.
    public const string CheckPolicies = """
        SELECT 1 / (CASE WHEN count(*) = 0 THEN 1 ELSE 0 END)
        FROM unnest(@scopes, @ids, @requests, @tokens, @spendCaps, @tokenCaps) AS v(s, i, r, t, c, k)
        LEFT JOIN "LimitPolicies" p ON p."Scope" = v.s AND p."ScopeId" = v.i
        WHERE COALESCE(p."RequestsPerMinute", @defaultRequests) <> v.r OR COALESCE(p."TokensPerMinute", @defaultTokens) <> v.t
          OR p."SpendCapMicroUsd" IS DISTINCT FROM v.c OR p."TokenCap" IS DISTINCT FROM v.k
        """;

    // The price each model's admissions reserved at: still the one in force at the earliest and the latest of their times
    // (so no price took effect in between either).
    public const string CheckPrices = """
        SELECT 1 / (CASE WHEN bool_and(p."Id" IS NOT DISTINCT FROM v.id) THEN 1 ELSE 0 END)
        FROM unnest(@models, @ats, @versions) AS v(m, t, id)
        LEFT JOIN LATERAL (
          SELECT x."Id" FROM "Prices" x WHERE x."Model" = v.m AND x."EffectiveFrom" <= v.t ORDER BY x."EffectiveFrom" DESC, x."Id" DESC LIMIT 1) p ON true
        """;

    // The reservations the batch's settlements settle, deleted up front (the guard against settling twice): each
    // only by the instance that holds it. RETURNING lists those deleted, which the settlements then bill.
    // RETURNING the positions in the arrays (from 1), not the strings: the writer knows what it sent.
    public const string DeleteReservations = """
        DELETE FROM "Reservations" r USING (SELECT * FROM unnest(@ids, @holders) WITH ORDINALITY AS v(i, h, o) ORDER BY 1, 2) AS v
        WHERE r."RequestId" = v.i AND r."InstanceId" = v.h
        RETURNING v.o
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
