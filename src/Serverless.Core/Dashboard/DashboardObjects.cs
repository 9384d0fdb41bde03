using Serverless.Core.Jobs;
using Serverless.Core.Metering;

namespace Serverless.Core.Dashboard;

// The dashboard's JSON (snake_case). Money is integer micro-USD and times are Unix seconds, exactly as the usage API has them.

/// <summary>GET /dashboard/api/session and the sign-in answers.</summary>
/// <param name="CsrfToken">Send it as X-CSRF-Token with every POST and DELETE of this session.</param>
/// <param name="Permissions">What the session may do: its key's permissions (all of them for a sign-in link).</param>
/// <param name="Models">The models its key may use, and so may give a new key; empty for every model.</param>
/// <param name="KeyExpiresAt">When its key expires (a new key cannot outlive it); null for never or a sign-in link.</param>
public sealed record SessionObject(
    bool SignedIn, string? Customer, string? CustomerName, string? KeyId, long? ExpiresAt, string? CsrfToken,
    IReadOnlyList<string> Permissions, IReadOnlyList<string> Models, long? KeyExpiresAt)
{
    public static readonly SessionObject SignedOut = new(false, null, null, null, null, null, [], [], null);
}

/// <summary>Sign in with an API key (POST /dashboard/api/session).</summary>
public sealed record SignInRequest(string? ApiKey);

/// <summary>Sign in with a link's token (POST /dashboard/api/session/link).</summary>
public sealed record LinkSignInRequest(string? Token);

/// <summary>GET /dashboard/api/overview: the current period, its budget and forecast, the last 30 days and the breakdowns.</summary>
/// <param name="Period">Totals of the current period: what GET /v1/usage answers without start and end.</param>
/// <param name="Daily">Every UTC day from DailyStart to DailyEnd (exclusive), days without usage as zeros.</param>
/// <param name="ByModel">The current period by model, as GET /v1/usage?group_by=model.</param>
/// <param name="ByKey">The current period by key, as GET /v1/usage?group_by=key, with the keys' names.</param>
public sealed record OverviewObject(
    string Customer,
    long Now,
    long PeriodStart,
    long PeriodEnd,
    UsageTotalsObject Period,
    BudgetObject Budget,
    ForecastObject Forecast,
    long DailyStart,
    long DailyEnd,
    IReadOnlyList<DailyUsageObject> Daily,
    IReadOnlyList<BreakdownObject> ByModel,
    IReadOnlyList<BreakdownObject> ByKey)
{
    public string Object => "dashboard.overview";
}

/// <summary>The customer's monthly caps (null: none) and what the ledger has settled against them this period.</summary>
public sealed record BudgetObject(long? SpendCapMicroUsd, long? TokenCap, long SpentMicroUsd, long SpentTokens);

/// <summary>
/// End-of-period spend if the average rate of the rate window (the last 7 days) holds for the rest of the period.
/// </summary>
/// <param name="BudgetReachedAt">When the spend cap is reached at that rate, if within the period; null otherwise.</param>
public sealed record ForecastObject(long RateWindowStart, long RateWindowEnd, long RateWindowCostMicroUsd, long ForecastMicroUsd, bool ExceedsBudget, long? BudgetReachedAt);

public sealed record DailyUsageObject(string Day, long Requests, long PromptTokens, long CompletionTokens, long CostMicroUsd);

/// <param name="Name">The key's name for the key breakdown; null for models.</param>
public sealed record BreakdownObject(string Group, string? Name, long Requests, long PromptTokens, long CompletionTokens, long CostMicroUsd);

/// <summary>One request of GET /dashboard/api/requests. CreatedAt is the end of the request in Unix milliseconds.</summary>
public sealed record RequestObject(string RequestId, long CreatedAt, string Model, string KeyId, long PromptTokens, long CompletionTokens, long CostMicroUsd, string Outcome, string? BatchId);

/// <param name="NextCursor">Pass as ?before= for the next (older) page; null on the last page.</param>
public sealed record RequestPage(IReadOnlyList<RequestObject> Data, bool HasMore, string? NextCursor)
{
    public string Object => "list";
}

/// <summary>A key as the dashboard lists it: masked; Current marks the key this session was opened with.</summary>
public sealed record DashboardKeyObject(
    string Id, string Name, string RedactedValue, IReadOnlyList<string> Models, IReadOnlyList<string> Permissions, string Status, long CreatedAt, long? ExpiresAt, long? RevokedAt, long? LastUsedAt, bool Current);

public sealed record DashboardKeyList(IReadOnlyList<DashboardKeyObject> Data)
{
    public string Object => "list";
}

/// <summary>POST /dashboard/api/keys.</summary>
/// <param name="Models">Model ids the key may use; null or empty for every model.</param>
/// <param name="ExpiresInDays">Null for a key that does not expire, or, when the session's key expires, for its expiry.</param>
/// <param name="Permissions">Null for the default permissions the session's key holds (never keys.manage).</param>
public sealed record CreateDashboardKeyRequest(string? Name, IReadOnlyList<string>? Models, int? ExpiresInDays, IReadOnlyList<string>? Permissions = null);

/// <summary>The new key: the only time its full value is ever shown.</summary>
public sealed record CreatedDashboardKey(string Key, DashboardKeyObject Info);

/// <summary>
/// One batch of GET /dashboard/api/batches: the Batch API's status and counts (live while it runs) and what its lines
/// have cost so far, summed from the ledger (the usage records carrying its id).
/// </summary>
/// <param name="CompletedAt">When it completed (OpenAI's completed_at: only for status completed).</param>
/// <param name="EndedAt">When it reached its final status, whichever it is; null while it runs.</param>
/// <param name="ExpiresAt">The end of its completion window.</param>
/// <param name="Errors">Why a failed batch failed (validation); empty otherwise.</param>
/// <param name="OutputFileId">Download with GET /dashboard/api/files/{id}/content.</param>
/// <param name="Cancellable">Whether POST /dashboard/api/batches/{id}/cancel would stop it.</param>
public sealed record DashboardBatchObject(
    string Id,
    string Status,
    string Endpoint,
    long CreatedAt,
    long? CompletedAt,
    long? EndedAt,
    long ExpiresAt,
    BatchRequestCounts RequestCounts,
    long CostMicroUsd,
    string? OutputFileId,
    string? ErrorFileId,
    IReadOnlyList<BatchError> Errors,
    bool Cancellable);

/// <param name="NextCursor">Pass as ?before= for the next (older) page; null on the last page.</param>
public sealed record DashboardBatchPage(IReadOnlyList<DashboardBatchObject> Data, bool HasMore, string? NextCursor)
{
    public string Object => "list";
}
