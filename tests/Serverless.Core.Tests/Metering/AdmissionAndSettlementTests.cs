using Microsoft.EntityFrameworkCore;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Http;
using Serverless.Core.Metering;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// The ledger's two commands as the request path runs them (<see cref="MeteringService"/> over the group-commit writer):
/// admission reserves a request's worst case against the budgets and rate windows of its key and customer or refuses
/// it without a trace; settlement turns the reservation into one usage record at the actual token counts. The money
/// is checked to the micro-USD: 250,000 / 900,000 micro-USD per million input / output tokens make 10 + 100 tokens
/// 92.5 micro-USD (93 reserved) and 10 + 40 tokens 38.5 (39 billed). Runs on <see cref="Sqlite"/> and <see cref="Postgres"/>.
/// </summary>
public abstract class AdmissionAndSettlementTests(string provider) : IAsyncLifetime
{
    private const string Model = "demo";
    private const string KeyId = "key_a";
    private const string CustomerId = "acme";
    private const long Reserved = 93; // 10 prompt + 100 max_tokens
    private const long Billed = 39; // 10 prompt + 40 completion
    private const string IdempotentResult = """{"id":"cmpl-1"}""";

    private TestDatabase _database = null!;
    private LedgerServices _ledger = null!;
    private Price _price = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync(provider);
        _ledger = await LedgerServices.StartAsync(_database);
        _price = await _ledger.Prices.SetAsync(Model, 250_000, 900_000, batchDiscountBasisPoints: 5_000, effectiveFrom: null, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _ledger.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static AdmissionRequest Request(string requestId, long prompt = 10, long maxTokens = 100, string? batchId = null, IdempotencyClaim? claim = null) => new()
    {
        RequestId = requestId,
        KeyId = KeyId,
        CustomerId = CustomerId,
        Model = Model,
        PromptTokens = prompt,
        MaxTokens = maxTokens,
        BatchId = batchId,
        Idempotency = claim,
    };

    private Task<Admission> AdmitAsync(AdmissionRequest request) => _ledger.Metering.AdmitAsync(request);

    private Task<Settlement> SettleAsync(Reservation reservation, long completion, string outcome = UsageOutcome.Completed, IdempotencyClaim? claim = null, string? result = null, string? batchResult = null) =>
        _ledger.Metering.SettleAsync(new SettlementRequest
        {
            Reservation = reservation,
            CompletionTokens = completion,
            Outcome = outcome,
            EndedAt = _ledger.Clock.GetUtcNow().AddSeconds(2),
            Idempotency = claim,
            IdempotentResult = result,
            BatchResult = batchResult,
        });

    private async Task<Reservation> AdmittedAsync(AdmissionRequest request)
    {
        var admission = await AdmitAsync(request);
        Assert.True(admission.Status == AdmissionStatus.Admitted, $"{request.RequestId}: {admission.Status} {admission.Reason}");
        return admission.Reservation!;
    }

    /// <summary>This period's budget row of a key or customer: spent and reserved micro-USD, spent and reserved tokens; null when there is none.</summary>

    /// <summary>A key's or customer's rate window rows, summed: requests and tokens; null when there is none.</summary>

    private async Task<List<string>> ReservedRequestsAsync()
    {
        await using var db = _ledger.Database();
        return await db.Set<Reservation>().AsNoTracking().OrderBy(r => r.RequestId).Select(r => r.RequestId).ToListAsync();
    }

    private async Task AssertBothAsync((long, long, long, long)? budget, (long, long)? window)
    {
        Assert.Equal(budget, await _ledger.BudgetAsync(LimitScope.Key, KeyId));
        Assert.Equal(budget, await _ledger.BudgetAsync(LimitScope.Customer, CustomerId));
        Assert.Equal(window, await _ledger.WindowAsync(LimitScope.Key, KeyId));
        Assert.Equal(window, await _ledger.WindowAsync(LimitScope.Customer, CustomerId));
    }

    [Fact]
    public async Task An_admitted_request_reserves_its_worst_case_at_the_current_price_against_both_budgets_and_rate_windows()
    {
        var admission = await AdmitAsync(Request("req_1"));

        Assert.Equal(AdmissionStatus.Admitted, admission.Status);
        var reservation = admission.Reservation!;
        Assert.Equal(
            (_price.Id, 250_000L, 900_000L, 0L, 10L, 100L, Reserved, _ledger.Metering.InstanceId),
            (reservation.PriceVersion, reservation.InputMicroUsdPerMillion, reservation.OutputMicroUsdPerMillion, reservation.DiscountBasisPoints,
                reservation.PromptTokens, reservation.MaxTokens, reservation.ReservedMicroUsd, reservation.InstanceId));
        Assert.Equal(["req_1"], await ReservedRequestsAsync());
        await AssertBothAsync((0, Reserved, 0, 110), (1, 110));

        // The headers' numbers: the defaults (600 requests, 2,000,000 tokens a minute) less this request, until the minute ends.
        Assert.Equal(new RateLimitState(600, 599, 2_000_000, 1_999_890, LedgerServices.Start.AddMinutes(1)), admission.RateLimits);
    }

    [Fact]
    public async Task Settling_bills_the_actual_tokens_moves_the_reservation_to_spend_and_gives_the_unused_tokens_back_to_the_rate_window()
    {
        var reservation = await AdmittedAsync(Request("req_1"));

        var settlement = await SettleAsync(reservation, completion: 40);

        Assert.Equal(new Settlement("req_1", 10, 40, _price.Id, Billed, UsageOutcome.Completed, SettledHere: true), settlement);
        await using var db = _ledger.Database();
        var record = await db.Set<UsageRecord>().AsNoTracking().SingleAsync();
        Assert.Equal(
            ("req_1", KeyId, CustomerId, 10L, 40L, _price.Id, Billed, UsageOutcome.Completed, _ledger.Metering.InstanceId),
            (record.RequestId, record.KeyId, record.CustomerId, record.PromptTokens, record.CompletionTokens, record.PriceVersion, record.CostMicroUsd, record.Outcome, record.InstanceId));
        var export = await db.Set<ExportQueueItem>().AsNoTracking().SingleAsync();
        Assert.Equal((record.Id, CustomerId, 10L, 40L), (export.RecordId, export.CustomerId, export.PromptTokens, export.CompletionTokens));
        Assert.Empty(await ReservedRequestsAsync());
        await AssertBothAsync((Billed, 0, 50, 0), (1, 50));
    }

    [Fact]
    public async Task Settling_a_request_turned_away_before_generating_releases_its_reservation_and_bills_nothing()
    {
        var reservation = await AdmittedAsync(Request("req_1"));

        var settlement = await SettleAsync(reservation, completion: 7, UsageOutcome.Rejected);

        Assert.Equal(new Settlement("req_1", 0, 0, _price.Id, 0, UsageOutcome.Rejected, SettledHere: true), settlement);
        await using var db = _ledger.Database();
        var record = await db.Set<UsageRecord>().AsNoTracking().SingleAsync();
        Assert.Equal((0L, 0L, 0L), (record.PromptTokens, record.CompletionTokens, record.CostMicroUsd));
        Assert.Empty(await db.Set<ExportQueueItem>().AsNoTracking().ToListAsync());
        Assert.Empty(await ReservedRequestsAsync());

        // The request still counts against the request rate; its tokens all come back.
        await AssertBothAsync((0, 0, 0, 0), (1, 0));
    }

    [Fact]
    public async Task A_reservation_is_settled_once_and_a_second_settlement_answers_with_the_first_record_and_moves_nothing()
    {
        var reservation = await AdmittedAsync(Request("req_1"));
        await SettleAsync(reservation, completion: 40);

        var again = await SettleAsync(reservation, completion: 80);

        Assert.Equal(new Settlement("req_1", 10, 40, _price.Id, Billed, UsageOutcome.Completed, SettledHere: false), again);
        await using var db = _ledger.Database();
        Assert.Single(await db.Set<UsageRecord>().AsNoTracking().ToListAsync());
        Assert.Single(await db.Set<ExportQueueItem>().AsNoTracking().ToListAsync());
        await AssertBothAsync((Billed, 0, 50, 0), (1, 50));
    }

    [Fact]
    public async Task A_spend_cap_admits_up_to_exactly_the_cap_refuses_the_next_without_a_trace_and_settling_frees_what_was_not_used()
    {
        await _ledger.Limits.SetAsync(LimitScope.Customer, CustomerId, null, null, spendCapMicroUsd: 2 * Reserved, tokenCap: null, CancellationToken.None);
        var first = await AdmittedAsync(Request("req_1"));
        await AdmittedAsync(Request("req_2"));

        var refused = await AdmitAsync(Request("req_3"));

        Assert.Equal(AdmissionStatus.InsufficientQuota, refused.Status);
        Assert.Null(refused.Reservation);
        Assert.Contains("budget of this customer", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("up to 93 micro-USD (110 tokens: prompt + max_tokens)", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(["req_1", "req_2"], await ReservedRequestsAsync());
        await AssertBothAsync((0, 2 * Reserved, 0, 220), (2, 220));

        // The first request used 39 of its 93. The 54 it gives back are not room for another 93 (39 + 93 + 93 > 186), but
        // for a request of at most 39, which did not fit before (93 + 93 + 39 > 186).
        await SettleAsync(first, completion: 40);
        Assert.Equal(AdmissionStatus.InsufficientQuota, (await AdmitAsync(Request("req_4"))).Status);
        Assert.Equal(AdmissionStatus.Admitted, (await AdmitAsync(Request("req_5", prompt: 10, maxTokens: 40))).Status);
        await AssertBothAsync((Billed, Reserved + 39, 50, 110 + 50), (3, 50 + 110 + 50));
    }

    [Fact]
    public async Task A_request_over_the_keys_token_cap_is_refused_naming_the_key_and_leaves_no_row_behind()
    {
        await _ledger.Limits.SetAsync(LimitScope.Key, KeyId, null, null, spendCapMicroUsd: null, tokenCap: 109, CancellationToken.None);

        var refused = await AdmitAsync(Request("req_1"));

        Assert.Equal(AdmissionStatus.InsufficientQuota, refused.Status);
        Assert.Contains("budget of this API key", refused.Reason, StringComparison.Ordinal);
        Assert.Empty(await ReservedRequestsAsync());
        await AssertBothAsync(null, null);
        Assert.Equal(AdmissionStatus.Admitted, (await AdmitAsync(Request("req_2", prompt: 9, maxTokens: 100))).Status);
    }

    [Fact]
    public async Task The_rate_window_refuses_requests_past_the_keys_limits_until_the_next_minute()
    {
        await _ledger.Limits.SetAsync(LimitScope.Key, KeyId, requestsPerMinute: 2, tokensPerMinute: 1_000, null, null, CancellationToken.None);
        await AdmittedAsync(Request("req_1"));
        await AdmittedAsync(Request("req_2"));

        var third = await AdmitAsync(Request("req_3"));

        Assert.Equal(AdmissionStatus.RateLimited, third.Status);
        Assert.Equal("Rate limit reached for this API key: 2 requests per minute. Retry after the delay in the Retry-After header.", third.Reason);
        Assert.Equal(new RateLimitState(2, 0, 1_000, 780, LedgerServices.Start.AddMinutes(1)), third.RateLimits);
        Assert.Equal(["req_1", "req_2"], await ReservedRequestsAsync());
        await AssertBothAsync((0, 2 * Reserved, 0, 220), (2, 220));

        _ledger.Clock.Advance(TimeSpan.FromMinutes(1));
        var tooLong = await AdmitAsync(Request("req_4", prompt: 10, maxTokens: 991));
        Assert.Equal(AdmissionStatus.RateLimited, tooLong.Status);
        Assert.Equal("This request needs 1001 tokens (prompt + max_tokens), more than the 1000 tokens per minute allowed for this API key. Lower max_tokens.", tooLong.Reason);
        Assert.Equal(AdmissionStatus.Admitted, (await AdmitAsync(Request("req_5"))).Status);
    }

    [Fact]
    public async Task A_batch_line_is_priced_with_the_batch_discount_skips_the_rate_window_and_is_reserved_and_billed_once_however_often_it_runs()
    {
        var admission = await AdmitAsync(Request("line_1", batchId: "batch_1"));

        // 92.5 at half price is 46.25: the discount applies before the one rounding.
        Assert.Equal((AdmissionStatus.Admitted, false, 5_000L, 46L), (admission.Status, admission.Resumed, admission.Reservation!.DiscountBasisPoints, admission.Reservation.ReservedMicroUsd));
        Assert.Null(admission.RateLimits);
        await AssertBothAsync((0, 46, 0, 110), null);

        // Run again (its activity re-executed after a crash): the same reservation, taken over, not a second one.
        var resumed = await AdmitAsync(Request("line_1", batchId: "batch_1"));
        Assert.Equal((AdmissionStatus.Admitted, true, 46L), (resumed.Status, resumed.Resumed, resumed.Reservation!.ReservedMicroUsd));
        Assert.Equal(["line_1"], await ReservedRequestsAsync());
        await AssertBothAsync((0, 46, 0, 110), null);

        var settlement = await SettleAsync(resumed.Reservation, completion: 40, batchResult: """{"custom_id":"a"}""");
        Assert.Equal(19, settlement.CostMicroUsd); // 38.5 at half price

        // Run again once settled: answered from the record with its stored output, nothing reserved or billed again.
        var settled = await AdmitAsync(Request("line_1", batchId: "batch_1"));
        Assert.Equal(AdmissionStatus.AlreadySettled, settled.Status);
        Assert.Equal((10L, 40L, 19L, """{"custom_id":"a"}"""), (settled.Settlement!.PromptTokens, settled.Settlement.CompletionTokens, settled.Settlement.CostMicroUsd, settled.Settlement.BatchResult));
        Assert.Empty(await ReservedRequestsAsync());
        await AssertBothAsync((19, 0, 50, 0), null);
    }

    [Fact]
    public async Task An_idempotency_key_is_in_progress_until_settled_then_replays_its_result_conflicts_with_another_body_and_expires()
    {
        var claim = new IdempotencyClaim("idem-1", "hash-a");
        var first = await AdmittedAsync(Request("req_1", claim: claim));

        Assert.Equal(AdmissionStatus.IdempotencyInProgress, (await AdmitAsync(Request("req_2", claim: claim))).Status);
        Assert.Equal(AdmissionStatus.IdempotencyConflict, (await AdmitAsync(Request("req_3", claim: claim with { RequestHash = "hash-b" }))).Status);

        await SettleAsync(first, completion: 40, claim: claim, result: IdempotentResult);
        var replay = await AdmitAsync(Request("req_4", claim: claim));
        Assert.Equal((AdmissionStatus.IdempotencyReplay, IdempotentResult), (replay.Status, replay.StoredResult));
        Assert.Equal(AdmissionStatus.IdempotencyConflict, (await AdmitAsync(Request("req_5", claim: claim with { RequestHash = "hash-b" }))).Status);

        // Only the first request reserved, counted or billed anything.
        Assert.Empty(await ReservedRequestsAsync());
        await AssertBothAsync((Billed, 0, 50, 0), (1, 50));

        // Past the idempotency window (24 h) the key is free for a new request.
        _ledger.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        Assert.Equal(AdmissionStatus.Admitted, (await AdmitAsync(Request("req_6", claim: claim))).Status);
    }

    public sealed class Sqlite() : AdmissionAndSettlementTests(DatabaseOptions.SqliteProvider);

    public sealed class Postgres() : AdmissionAndSettlementTests(DatabaseOptions.PostgresProvider);
}
