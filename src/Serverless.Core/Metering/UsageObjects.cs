namespace Serverless.Core.Metering;

/// <summary>Totals as the usage API shows them.</summary>
public sealed record UsageTotalsObject(long Requests, long PromptTokens, long CompletionTokens, long CostMicroUsd)
{
    public static UsageTotalsObject From(UsageTotals totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        return new(totals.Requests, totals.PromptTokens, totals.CompletionTokens, totals.CostMicroUsd);
    }
}

public sealed record UsageGroupObject(string Group, long Requests, long PromptTokens, long CompletionTokens, long CostMicroUsd);

/// <summary>GET /v1/usage: one entry per group and the total, for the calling key's customer.</summary>
public sealed record UsageReport(string Customer, long Start, long End, string GroupBy, IReadOnlyList<UsageGroupObject> Data, UsageTotalsObject Total)
{
    public string Object => "usage";
}

public sealed record UsageRecordObject(
    string RequestId, string CustomerId, string KeyId, string Model, long PromptTokens, long CompletionTokens, long CachedPromptTokens,
    long PriceVersion, long CostMicroUsd, long StartedAt, long EndedAt, string Outcome, string InstanceId, string? BatchId, string? CorrectsRequestId)
{
    public static UsageRecordObject From(UsageRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.RequestId, r.CustomerId, r.KeyId, r.Model, r.PromptTokens, r.CompletionTokens, r.CachedPromptTokens, r.PriceVersion,
            r.CostMicroUsd, r.StartedAt.ToUnixTimeMilliseconds(), r.EndedAt.ToUnixTimeMilliseconds(), r.Outcome, r.InstanceId, r.BatchId, r.CorrectsRequestId);
    }
}

public sealed record ReceiptSecretObject(string Customer, string Secret)
{
    public string Object => "usage.receipt_secret";
}

public sealed record PriceObject(long Version, string Model, long InputMicroUsdPerMillion, long OutputMicroUsdPerMillion, long BatchDiscountBasisPoints, long EffectiveFrom, long CreatedAt)
{
    public string Object => "price";

    public static PriceObject From(Price p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new(p.Id, p.Model, p.InputMicroUsdPerMillion, p.OutputMicroUsdPerMillion, p.BatchDiscountBasisPoints, p.EffectiveFrom.ToUnixTimeSeconds(), p.CreatedAt.ToUnixTimeSeconds());
    }
}

public sealed record PriceList(IReadOnlyList<PriceObject> Data)
{
    public string Object => "list";
}

/// <summary>Body of POST /v1/admin/prices. Times are Unix seconds.</summary>
public sealed record SetPriceRequest(string? Model, long? InputMicroUsdPerMillion, long? OutputMicroUsdPerMillion, long? BatchDiscountBasisPoints, long? EffectiveFrom);

/// <summary>Body of POST /v1/admin/limits and its answer. Null fields: no budget, or the default rate.</summary>
public sealed record LimitPolicyObject(string Scope, string Id, long? RequestsPerMinute, long? TokensPerMinute, long? SpendCapMicroUsd, long? TokenCap)
{
    public string Object => "limits";
}
