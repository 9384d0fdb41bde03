using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>Budgets hold under concurrency on both ledger providers.</summary>
public abstract class BudgetTests(ServiceFixture service)
{
    [Collection(ServiceTestGroup.Name)]
    public sealed class Sqlite(ServiceFixture service) : BudgetTests(service);

    [Collection(PostgresServiceTestGroup.Name)]
    public sealed class Postgres(PostgresServiceFixture service) : BudgetTests(service);

    private const string Body = """{"model":"demo","prompt":"The old house by the river","max_tokens":16,"temperature":0}""";

    [Fact]
    public async Task Fifty_concurrent_requests_against_a_budget_that_fits_ten_never_overspend()
    {
        // What one request reserves (prompt + max_tokens) and, at temperature 0 on the demo model, spends.
        using (var probe = service.CreateClient())
        using (var response = await probe.PostJsonAsync("/v1/completions", Body))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        const string customer = "budget-co";
        var key = await service.CreateKeyAsync(customer);
        long prompt;
        await using (var db = service.Database())
        {
            prompt = (await db.Set<UsageRecord>().OrderByDescending(r => r.Id).FirstAsync(r => r.CustomerId == "acme")).PromptTokens;
        }

        long perRequest = CostCalculator.CostMicroUsd(prompt, 16, ServiceFixture.InputPrice, ServiceFixture.OutputPrice);
        long cap = perRequest * 10;
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Customer, customer, 1000, null, cap, null, CancellationToken.None);

        using var client = service.CreateClient(key.Key);
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.PostJsonAsync("/v1/completions", Body)));
        try
        {
            var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
            var refused = responses.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
            foreach (var r in refused)
            {
                Assert.Equal("insufficient_quota", (await r.ReadErrorAsync(429)).GetProperty("code").GetString());
            }

            Assert.Equal(10, accepted.Count);
            foreach (var r in accepted)
            {
                Assert.Equal(16, (await r.ReadJsonAsync()).GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            }

            await using var db = service.Database();
            var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.CustomerId == customer).ToListAsync();
            Assert.Equal(10, records.Count);
            Assert.True(records.Sum(r => r.CostMicroUsd) <= cap);
            var budget = await db.Set<BudgetUsage>().AsNoTracking().SingleAsync(b => b.Scope == LimitScope.Customer && b.ScopeId == customer);
            Assert.Equal(records.Sum(r => r.CostMicroUsd), budget.SpentMicroUsd);
            Assert.Equal(0, budget.ReservedMicroUsd);
            Assert.True(budget.SpentMicroUsd <= cap);
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_request_that_cannot_fit_the_token_cap_is_refused_before_any_token_is_generated()
    {
        const string customer = "token-cap-co";
        var key = await service.CreateKeyAsync(customer);
        await service.Services.GetRequiredService<LimitPolicies>().SetAsync(LimitScope.Key, key.Info.KeyId, null, null, null, 10, CancellationToken.None);
        using var client = service.CreateClient(key.Key);
        using var response = await client.PostJsonAsync("/v1/completions", Body);
        var error = await response.ReadErrorAsync(429);
        Assert.Equal("insufficient_quota", error.GetProperty("code").GetString());
        await using var db = service.Database();
        Assert.False(await db.Set<UsageRecord>().AnyAsync(r => r.CustomerId == customer));
        Assert.False(await db.Set<Reservation>().AnyAsync(r => r.CustomerId == customer));
    }
}
