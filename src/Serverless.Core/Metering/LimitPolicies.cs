using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;

namespace Serverless.Core.Metering;

/// <summary>Rate limits and budgets per key or customer. Changes apply to the next admission on every instance.</summary>
public sealed class LimitPolicies(IDbContextFactory<ServerlessDbContext> databases, TimeProvider time)
{
    public async Task<LimitPolicy> SetAsync(string scope, string scopeId, long? requestsPerMinute, long? tokensPerMinute, long? spendCapMicroUsd, long? tokenCap, CancellationToken cancellationToken)
    {
        if (scope is not (LimitScope.Key or LimitScope.Customer))
        {
            throw new ArgumentException("Scope must be 'key' or 'customer'.", nameof(scope));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(scopeId);
        foreach (var (name, value) in new[] { ("requests_per_minute", requestsPerMinute), ("tokens_per_minute", tokensPerMinute), ("spend_cap_micro_usd", spendCapMicroUsd), ("token_cap", tokenCap) })
        {
            if (value is < 0)
            {
                throw new ArgumentOutOfRangeException(name, $"'{name}' must not be negative.");
            }
        }

        if (scopeId.Length > MaxScopeIdLength)
        {
            throw new ArgumentException($"The id has at most {MaxScopeIdLength} characters.", "id");
        }

        // Two first writes of one policy race to insert it; the loser finds the row and updates it instead.
        for (int attempt = 1; ; attempt++)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            var policy = await db.Set<LimitPolicy>().FindAsync([scope, scopeId], cancellationToken);
            if (policy is null)
            {
                policy = new LimitPolicy { Scope = scope, ScopeId = scopeId };
                db.Add(policy);
            }

            policy.RequestsPerMinute = requestsPerMinute;
            policy.TokensPerMinute = tokensPerMinute;
            policy.SpendCapMicroUsd = spendCapMicroUsd;
            policy.TokenCap = tokenCap;
            policy.UpdatedAt = time.GetUtcNow();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return policy;
            }
            catch (DbUpdateException) when (attempt < 3)
            {
            }
        }
    }

    private const int MaxScopeIdLength = 64;

    public async Task<LimitPolicy?> GetAsync(string scope, string scopeId, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<LimitPolicy>().AsNoTracking().FirstOrDefaultAsync(p => p.Scope == scope && p.ScopeId == scopeId, cancellationToken);
    }

    /// <summary>This period's spend and tokens (settled and reserved) of a key or customer.</summary>
    public async Task<BudgetUsage?> UsageAsync(string scope, string scopeId, CancellationToken cancellationToken)
    {
        var period = MeteringClock.PeriodStart(time.GetUtcNow());
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<BudgetUsage>().AsNoTracking().FirstOrDefaultAsync(b => b.Scope == scope && b.ScopeId == scopeId && b.PeriodStart == period, cancellationToken);
    }
}
