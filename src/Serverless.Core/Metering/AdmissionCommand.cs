using System.Globalization;
using Serverless.Core.Http;

namespace Serverless.Core.Metering;

/// <summary>
/// Admits a request atomically: idempotency claim, rate windows of key and customer, budget reservations of
/// key and customer at the current price, and the reservation row. A refusal undoes what this
/// command wrote (see <see cref="Execute"/>), so a refused request leaves no trace; the batch it shares a transaction with is unaffected. A batch line skips
/// the rate windows and may resume (see <see cref="AdmissionRequest.BatchId"/>).
/// </summary>
internal sealed class AdmissionCommand(AdmissionRequest request, DateTimeOffset now, string instanceId, MeteringOptions options)
    : LedgerCommand<Admission>
{
    // What this command wrote before it knew the answer; a refusal takes it back. Undoing by hand instead of with a
    // savepoint costs statements only when a request is refused, where a savepoint costs two on every admission.
    private bool _claimed;

    // Rows the request fits in (LedgerCounters), taken from only once the whole admission has succeeded, so a refusal
    // has nothing to undo there.
    private (LedgerCounters.Row Key, LedgerCounters.Row Customer, long Tokens)? _windowsToTake;
    private (LedgerCounters.Row Key, LedgerCounters.Row Customer, long Cost, long Tokens)? _budgetsToReserve;
    private (Policy Key, Policy Customer) _policies;

    // PostgreSQL's guarded path: the windows as this admission saw them, to correct its rate-limit headers once the
    // commit has returned the rows' values (other instances' requests in between, see Complete).
    private (LedgerCounters.Row KeyRow, WindowResult Key, LedgerCounters.Row CustomerRow, WindowResult Customer, long WindowStart)? _seen;

    public override bool NeedsSync => !request.SyncedBySettlement;

    public override void Declare(PostgresPrefetch prefetch)
    {
        ArgumentNullException.ThrowIfNull(prefetch);
        prefetch.Policies(request.KeyId, request.CustomerId, DefaultPolicy);
        bool generates = request.Model is not null;
        if (!generates || request.BatchId is null)
        {
            long windowStart = MeteringClock.WindowStart(now).ToUnixTimeMilliseconds();
            prefetch.Window(LimitScope.Key, request.KeyId, windowStart);
            prefetch.Window(LimitScope.Customer, request.CustomerId, windowStart);
        }

        if (generates)
        {
            long period = MeteringClock.PeriodStart(now).ToUnixTimeMilliseconds();
            prefetch.Price(request.Model!, now.ToUnixTimeMilliseconds());
            prefetch.Budget(LimitScope.Key, request.KeyId, period);
            prefetch.Budget(LimitScope.Customer, request.CustomerId, period);
        }
    }

    // Idempotency claims and batch lines read rows back while they run, which the one round trip cannot do.
    public override bool CanRunOnHints(PostgresHints hints) =>
        request.Idempotency is null && request.BatchId is null && hints.KnowsPolicies(request.KeyId, request.CustomerId)
        && (request.Model is null || hints.KnowsPrice(request.Model, now.ToUnixTimeMilliseconds()));

    private Policy DefaultPolicy => new(options.DefaultRequestsPerMinute, options.DefaultTokensPerMinute, null, null);

    public override void Execute(LedgerBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _windowsToTake = null;
        _budgetsToReserve = null;
        _seen = null;
        _claimed = false;
        var admission = Admit(batch);
        if (admission.Status != AdmissionStatus.Admitted)
        {
            Undo(batch);
            if (admission.Status is AdmissionStatus.RateLimited or AdmissionStatus.InsufficientQuota && batch.Guarded)
            {
                // Decided on the writer's hints, not on locked rows: only the locking path may refuse.
                batch.NeedsLocks = true;
            }
        }
        else
        {
            var (keyPolicy, customerPolicy) = _policies;
            if (_windowsToTake is var (keyWindow, customerWindow, tokens))
            {
                keyWindow.Add(1, tokens);
                customerWindow.Add(1, tokens);
                keyWindow.Guard(keyPolicy.RequestsPerMinute, keyPolicy.TokensPerMinute);
                customerWindow.Guard(customerPolicy.RequestsPerMinute, customerPolicy.TokensPerMinute);
            }

            if (_budgetsToReserve is var (keyBudget, customerBudget, cost, reservedTokens))
            {
                keyBudget.Add(0, cost, 0, reservedTokens);
                customerBudget.Add(0, cost, 0, reservedTokens);
                keyBudget.Guard(keyPolicy.SpendCap ?? -1, keyPolicy.TokenCap ?? -1);
                customerBudget.Guard(customerPolicy.SpendCap ?? -1, customerPolicy.TokenCap ?? -1);
            }
        }

        Result = admission;
    }

    public override void Complete()
    {
        // The guarded path: the rows' values in the database at the commit differ from those this admission decided on
        // by what other instances added meanwhile (Row.Offset); the headers report the windows as they were.
        if (_seen is var (keyRow, key, customerRow, customer, windowStart) && Result is { Status: AdmissionStatus.Admitted } admission
            && (keyRow.Offset != default || customerRow.Offset != default))
        {
            Result = admission with { RateLimits = Combine(key.Shift(keyRow.Offset), customer.Shift(customerRow.Offset), windowStart) };
        }

        base.Complete();
    }

    private void Undo(LedgerBatch batch)
    {
        if (_claimed && request.Idempotency is { } claim)
        {
            batch.Write(LedgerSql.ReleaseIdempotency, ("@customer", request.CustomerId), ("@key", claim.Key), ("@requestId", request.RequestId));
        }
    }

    private Admission Admit(LedgerBatch batch)
    {
        if (request.Idempotency is { } claim && CheckIdempotency(batch, claim) is { } earlier)
        {
            return earlier;
        }

        bool generates = request.Model is not null;
        bool batchLine = generates && request.BatchId is not null;
        if (batchLine && Resume(batch) is { } resumed)
        {
            return resumed;
        }

        var (keyPolicy, customerPolicy) = ReadPolicies(batch);
        _policies = (keyPolicy, customerPolicy);
        long windowStart = MeteringClock.WindowStart(now).ToUnixTimeMilliseconds();
        long tokens = generates ? request.PromptTokens + request.MaxTokens : 0;

        // Batch lines are not held to the per-minute rate limits (they run in the background at the pace the
        // service chooses, as OpenAI's batch queue does); the budgets below apply to them as to every request.
        var (keyWindow, customerWindow) = batchLine
            ? (WindowResult.Exempt, WindowResult.Exempt)
            : CheckWindows(batch.Counters, windowStart, tokens, keyPolicy, customerPolicy);
        var limits = batchLine ? null : Combine(keyWindow, customerWindow, windowStart);
        if (!keyWindow.Taken || !customerWindow.Taken)
        {
            var refused = keyWindow.Taken ? customerWindow : keyWindow;
            string what = refused.Requests + 1 > refused.RequestLimit ? "requests" : "tokens";
            string scope = keyWindow.Taken ? "customer" : "API key";
            string reason = tokens > refused.TokenLimit
                ? string.Create(CultureInfo.InvariantCulture, $"This request needs {tokens} tokens (prompt + max_tokens), more than the {refused.TokenLimit} tokens per minute allowed for this {scope}. Lower max_tokens.")
                : string.Create(CultureInfo.InvariantCulture, $"Rate limit reached for this {scope}: {(what == "requests" ? refused.RequestLimit : refused.TokenLimit)} {what} per minute. Retry after the delay in the Retry-After header.");
            return new Admission { Status = AdmissionStatus.RateLimited, RateLimits = limits, Reason = reason };
        }

        if (!generates)
        {
            return new Admission { Status = AdmissionStatus.Admitted, RateLimits = limits };
        }

        var price = ReadPrice(batch);
        long discount = request.BatchId is null ? 0 : price.BatchDiscount;
        long reservedCost = CostCalculator.CostMicroUsd(request.PromptTokens, request.MaxTokens, price.Input, price.Output, discount);
        long period = MeteringClock.PeriodStart(now).ToUnixTimeMilliseconds();
        var (keyReserved, customerReserved) = CheckBudgets(batch.Counters, period, reservedCost, tokens, keyPolicy, customerPolicy);
        if (!keyReserved || !customerReserved)
        {
            string who = keyReserved ? "customer" : "API key";
            return new Admission
            {
                Status = AdmissionStatus.InsufficientQuota,
                RateLimits = limits,
                Reason = string.Create(CultureInfo.InvariantCulture,
                    $"You exceeded the budget of this {who} for the current period: this request could cost up to {reservedCost} micro-USD ({tokens} tokens: prompt + max_tokens) and does not fit. Lower max_tokens, raise the budget, or wait for the next period."),
            };
        }

        var reservation = new Reservation
        {
            RequestId = request.RequestId,
            KeyId = request.KeyId,
            CustomerId = request.CustomerId,
            Model = request.Model!,
            InstanceId = instanceId,
            PriceVersion = price.Version,
            InputMicroUsdPerMillion = price.Input,
            OutputMicroUsdPerMillion = price.Output,
            DiscountBasisPoints = discount,
            PromptTokens = request.PromptTokens,
            MaxTokens = request.MaxTokens,
            ReservedMicroUsd = reservedCost,
            PeriodStart = DateTimeOffset.FromUnixTimeMilliseconds(period),
            WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(windowStart),
            StartedAt = now,
            BatchId = request.BatchId,
        };
        if (batch.Writes is { } writes)
        {
            writes.InsertReservation(reservation);
            return new Admission { Status = AdmissionStatus.Admitted, RateLimits = limits, Reservation = reservation, Idempotency = request.Idempotency };
        }

        batch.Execute(
            LedgerSql.InsertReservation,
            ("@requestId", reservation.RequestId), ("@key", reservation.KeyId), ("@customer", reservation.CustomerId), ("@model", reservation.Model),
            ("@instance", instanceId), ("@priceVersion", price.Version), ("@input", price.Input), ("@output", price.Output), ("@discount", discount),
            ("@prompt", reservation.PromptTokens), ("@max", reservation.MaxTokens), ("@reserved", reservedCost), ("@period", period),
            ("@window", windowStart), ("@started", now.ToUnixTimeMilliseconds()), ("@batch", request.BatchId));
        return new Admission { Status = AdmissionStatus.Admitted, RateLimits = limits, Reservation = reservation, Idempotency = request.Idempotency };
    }

    // A batch line run again (its activity re-executed after a crash or a failure): the request id either has its
    // record already (nothing to do but answer with the output stored with it) or still has its reservation (this
    // instance takes it over and generates again; the reservation is settled once, by whoever holds it then).
    private Admission? Resume(LedgerBatch batch)
    {
        if (SettleCommand.Find(batch, request.RequestId) is { } existing)
        {
            return new Admission { Status = AdmissionStatus.AlreadySettled, Settlement = existing };
        }

        using var taken = batch.Command(
            LedgerSql.TakeOverReservation, ("@instance", instanceId), ("@started", now.ToUnixTimeMilliseconds()), ("@requestId", request.RequestId)).ExecuteReader();
        if (!taken.Read())
        {
            return null;
        }

        var reservation = new Reservation
        {
            RequestId = request.RequestId,
            KeyId = taken.GetString(0),
            CustomerId = taken.GetString(1),
            Model = taken.GetString(2),
            InstanceId = instanceId,
            PriceVersion = taken.GetInt64(3),
            InputMicroUsdPerMillion = taken.GetInt64(4),
            OutputMicroUsdPerMillion = taken.GetInt64(5),
            DiscountBasisPoints = taken.GetInt64(6),
            PromptTokens = taken.GetInt64(7),
            MaxTokens = taken.GetInt64(8),
            ReservedMicroUsd = taken.GetInt64(9),
            PeriodStart = DateTimeOffset.FromUnixTimeMilliseconds(taken.GetInt64(10)),
            WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(taken.GetInt64(11)),
            StartedAt = now,
            BatchId = taken.IsDBNull(12) ? null : taken.GetString(12),
        };
        return new Admission { Status = AdmissionStatus.Admitted, Reservation = reservation, Resumed = true };
    }

    private Admission? CheckIdempotency(LedgerBatch batch, IdempotencyClaim claim)
    {
        using (var reader = batch.Command(LedgerSql.SelectIdempotency, ("@customer", request.CustomerId), ("@key", claim.Key)).ExecuteReader())
        {
            if (reader.Read())
            {
                string hash = reader.GetString(0);
                string? result = reader.IsDBNull(2) ? null : reader.GetString(2);
                long created = reader.GetInt64(3);
                if (created > (now - options.IdempotencyWindow).ToUnixTimeMilliseconds())
                {
                    if (!string.Equals(hash, claim.RequestHash, StringComparison.Ordinal))
                    {
                        return new Admission { Status = AdmissionStatus.IdempotencyConflict, Reason = "This Idempotency-Key was already used with a different request body. Use a new key for a new request." };
                    }

                    return result is null
                        ? new Admission { Status = AdmissionStatus.IdempotencyInProgress, Reason = "A request with this Idempotency-Key is still being processed. Retry when it has finished." }
                        : new Admission { Status = AdmissionStatus.IdempotencyReplay, StoredResult = result };
                }
            }
        }

        batch.Execute(LedgerSql.DeleteIdempotency, ("@customer", request.CustomerId), ("@key", claim.Key));
        batch.Execute(LedgerSql.InsertIdempotency, ("@customer", request.CustomerId), ("@key", claim.Key), ("@hash", claim.RequestHash), ("@requestId", request.RequestId), ("@now", now.ToUnixTimeMilliseconds()));
        _claimed = true;
        return null;
    }

    // Read once per transaction: a customer's policy serves all of its requests in the batch.
    private (Policy Key, Policy Customer) ReadPolicies(LedgerBatch batch)
    {
        var policies = batch.Cache.Policies;
        if (policies.TryGetValue((LimitScope.Key, request.KeyId), out var cachedKey)
            && policies.TryGetValue((LimitScope.Customer, request.CustomerId), out var cachedCustomer))
        {
            return (cachedKey, cachedCustomer);
        }

        var (key, customer) = SelectPolicies(batch);
        policies[(LimitScope.Key, request.KeyId)] = key;
        policies[(LimitScope.Customer, request.CustomerId)] = customer;
        return (key, customer);
    }

    private (Policy Key, Policy Customer) SelectPolicies(LedgerBatch batch)
    {
        var key = DefaultPolicy;
        var customer = key;
        using var reader = batch.Command(LedgerSql.SelectPolicies, ("@key", request.KeyId), ("@customer", request.CustomerId)).ExecuteReader();
        while (reader.Read())
        {
            var policy = new Policy(
                reader.IsDBNull(1) ? options.DefaultRequestsPerMinute : reader.GetInt64(1),
                reader.IsDBNull(2) ? options.DefaultTokensPerMinute : reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4));
            if (reader.GetString(0) == LimitScope.Key)
            {
                key = policy;
            }
            else
            {
                customer = policy;
            }
        }

        return (key, customer);
    }

    // Read once per transaction and model: the price found holds for every request of the batch whose time falls
    // between its EffectiveFrom and the next price's.
    private PriceRow ReadPrice(LedgerBatch batch)
    {
        long at = now.ToUnixTimeMilliseconds();
        var prices = batch.Cache.Prices;
        if (prices.TryGetValue(request.Model!, out var cached) && cached.From <= at && at < cached.Until)
        {
            return cached.Price;
        }

        using var reader = batch.Command(LedgerSql.SelectPrice, ("@model", request.Model), ("@now", at)).ExecuteReader();
        if (!reader.Read())
        {
            return new PriceRow(0, 0, 0, 0);
        }

        var price = new PriceRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        prices[request.Model!] = (price, reader.GetInt64(4), reader.IsDBNull(5) ? long.MaxValue : reader.GetInt64(5));
        return price;
    }

    /// <summary>
    /// Whether the request fits the key's and the customer's rate windows (in memory, see <see cref="LedgerCounters"/>);
    /// Execute takes from both once the request is admitted. The results describe the windows as a one-at-a-time order
    /// sees them (the customer's is not looked at when the key's refused).
    /// </summary>
    private (WindowResult Key, WindowResult Customer) CheckWindows(LedgerCounters counters, long windowStart, long tokens, Policy keyPolicy, Policy customerPolicy)
    {
        var key = counters.Window(LimitScope.Key, request.KeyId, windowStart);
        if (!Fits(key, keyPolicy))
        {
            return (new WindowResult(false, key.A, key.B, keyPolicy.RequestsPerMinute, keyPolicy.TokensPerMinute), default);
        }

        var taken = new WindowResult(true, key.A + 1, key.B + tokens, keyPolicy.RequestsPerMinute, keyPolicy.TokensPerMinute);
        var customer = counters.Window(LimitScope.Customer, request.CustomerId, windowStart);
        if (!Fits(customer, customerPolicy))
        {
            return (taken, new WindowResult(false, customer.A, customer.B, customerPolicy.RequestsPerMinute, customerPolicy.TokensPerMinute));
        }

        _windowsToTake = (key, customer, tokens);
        var customerTaken = new WindowResult(true, customer.A + 1, customer.B + tokens, customerPolicy.RequestsPerMinute, customerPolicy.TokensPerMinute);
        if (key.Unlocked)
        {
            _seen = (key, taken, customer, customerTaken, windowStart);
        }

        return (taken, customerTaken);

        bool Fits(LedgerCounters.Row window, Policy policy) => window.A + 1 <= policy.RequestsPerMinute && window.B + tokens <= policy.TokensPerMinute;
    }

    /// <summary>Whether the request's cost and tokens fit the key's and the customer's budgets (a negative cap is no cap); Execute reserves once the request is admitted.</summary>
    private (bool Key, bool Customer) CheckBudgets(LedgerCounters counters, long period, long cost, long tokens, Policy keyPolicy, Policy customerPolicy)
    {
        var key = counters.Budget(LimitScope.Key, request.KeyId, period);
        var customer = counters.Budget(LimitScope.Customer, request.CustomerId, period);
        bool keyFits = Fits(key, keyPolicy);
        bool customerFits = Fits(customer, customerPolicy);
        if (keyFits && customerFits)
        {
            _budgetsToReserve = (key, customer, cost, tokens);
        }

        return (keyFits, customerFits);

        bool Fits(LedgerCounters.Row budget, Policy policy)
        {
            long spendCap = policy.SpendCap ?? -1;
            long tokenCap = policy.TokenCap ?? -1;
            return (spendCap < 0 || budget.A + budget.B + cost <= spendCap) && (tokenCap < 0 || budget.C + budget.D + tokens <= tokenCap);
        }
    }

    private static RateLimitState Combine(WindowResult key, WindowResult customer, long windowStart)
    {
        long Remaining(long limit, long used) => Math.Max(0, limit - used);
        long remainingRequests = Remaining(key.RequestLimit, key.Requests);
        long remainingTokens = Remaining(key.TokenLimit, key.Tokens);
        long limitRequests = key.RequestLimit;
        long limitTokens = key.TokenLimit;
        if (customer.RequestLimit > 0 && Remaining(customer.RequestLimit, customer.Requests) < remainingRequests)
        {
            remainingRequests = Remaining(customer.RequestLimit, customer.Requests);
            limitRequests = customer.RequestLimit;
        }

        if (customer.TokenLimit > 0 && Remaining(customer.TokenLimit, customer.Tokens) < remainingTokens)
        {
            remainingTokens = Remaining(customer.TokenLimit, customer.Tokens);
            limitTokens = customer.TokenLimit;
        }

        return new RateLimitState(limitRequests, remainingRequests, limitTokens, remainingTokens,
            DateTimeOffset.FromUnixTimeMilliseconds(windowStart) + MeteringClock.Window);
    }

    private readonly record struct WindowResult(bool Taken, long Requests, long Tokens, long RequestLimit, long TokenLimit)
    {
        public static WindowResult Exempt => new(true, 0, 0, 0, 0);

        public WindowResult Shift((long Requests, long Tokens) offset) => this with { Requests = Requests + offset.Requests, Tokens = Tokens + offset.Tokens };
    }
}
