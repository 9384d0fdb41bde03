using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Metering;

/// <summary>POST /v1/admin/prices: add a price version for a model.</summary>
public sealed class AdminSetPriceHandler(PriceBook prices) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminSetPrice", "POST", "/v1/admin/prices", ApiAuth.Admin, typeof(AdminSetPriceHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
        var root = body.RootElement;
        string model = JsonFields.RequiredString(root, "model");
        long input = JsonFields.OptionalInteger(root, "input_micro_usd_per_million") ?? throw ApiException.MissingParameter("input_micro_usd_per_million");
        long output = JsonFields.OptionalInteger(root, "output_micro_usd_per_million") ?? throw ApiException.MissingParameter("output_micro_usd_per_million");
        long discount = JsonFields.OptionalInteger(root, "batch_discount_basis_points") ?? 0;
        long? effective = JsonFields.OptionalInteger(root, "effective_from");
        Price price;
        try
        {
            price = await prices.SetAsync(model, input, output, discount, effective is long s ? DateTimeOffset.FromUnixTimeSeconds(s) : null, call.Aborted);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.InvalidValue(ex.ParamName ?? "price", ex.Message);
        }

        await call.WriteJsonAsync(PriceObject.From(price), MeteringJsonContext.Default.PriceObject, StatusCodes.Status201Created);
    }
}

/// <summary>GET /v1/admin/prices[?model=]: every price version.</summary>
public sealed class AdminListPricesHandler(PriceBook prices) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminListPrices", "GET", "/v1/admin/prices", ApiAuth.Admin, typeof(AdminListPricesHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string? model = call.Query("model");
        var list = await prices.ListAsync(model, call.Aborted);
        await call.WriteJsonAsync(new PriceList(list.Select(PriceObject.From).ToList()), MeteringJsonContext.Default.PriceList);
    }
}

/// <summary>POST /v1/admin/limits: set the rate limits and budgets of a key or customer (null = default rate / no budget).</summary>
public sealed class AdminSetLimitsHandler(LimitPolicies policies) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminSetLimits", "POST", "/v1/admin/limits", ApiAuth.Admin, typeof(AdminSetLimitsHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
        var root = body.RootElement;
        string scope = JsonFields.RequiredString(root, "scope");
        string id = JsonFields.RequiredString(root, "id");
        LimitPolicy policy;
        try
        {
            policy = await policies.SetAsync(
                scope, id,
                JsonFields.OptionalInteger(root, "requests_per_minute"), JsonFields.OptionalInteger(root, "tokens_per_minute"),
                JsonFields.OptionalInteger(root, "spend_cap_micro_usd"), JsonFields.OptionalInteger(root, "token_cap"), call.Aborted);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.InvalidValue(ex.ParamName ?? "scope", ex.Message);
        }

        await call.WriteJsonAsync(ToObject(policy), MeteringJsonContext.Default.LimitPolicyObject);
    }

    internal static LimitPolicyObject ToObject(LimitPolicy p) => new(p.Scope, p.ScopeId, p.RequestsPerMinute, p.TokensPerMinute, p.SpendCapMicroUsd, p.TokenCap);
}

/// <summary>GET /v1/admin/limits?scope=key|customer&amp;id=: the limits in force (nulls when none are set).</summary>
public sealed class AdminGetLimitsHandler(LimitPolicies policies) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminGetLimits", "GET", "/v1/admin/limits", ApiAuth.Admin, typeof(AdminGetLimitsHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var query = call.Http.Request.Query;
        string scope = query["scope"].FirstOrDefault() ?? throw ApiException.MissingParameter("scope");
        string id = query["id"].FirstOrDefault() ?? throw ApiException.MissingParameter("id");
        if (scope is not (LimitScope.Key or LimitScope.Customer))
        {
            throw ApiException.InvalidValue("scope", "'scope' must be 'key' or 'customer'.");
        }

        var policy = await policies.GetAsync(scope, id, call.Aborted) ?? new LimitPolicy { Scope = scope, ScopeId = id };
        await call.WriteJsonAsync(AdminSetLimitsHandler.ToObject(policy), MeteringJsonContext.Default.LimitPolicyObject);
    }
}
