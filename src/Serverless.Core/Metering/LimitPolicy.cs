namespace Serverless.Core.Metering;

/// <summary>
/// Rate limits and budgets of one key or one customer. A missing value means "no limit" for budgets and
/// "the configured default" for rate limits.
/// </summary>
public sealed class LimitPolicy
{
    /// <summary><see cref="LimitScope.Key"/> or <see cref="LimitScope.Customer"/>.</summary>
    public required string Scope { get; set; }

    public required string ScopeId { get; set; }

    public long? RequestsPerMinute { get; set; }

    public long? TokensPerMinute { get; set; }

    /// <summary>Spend cap per budget period, in micro-USD.</summary>
    public long? SpendCapMicroUsd { get; set; }

    /// <summary>Token cap (prompt + completion) per budget period.</summary>
    public long? TokenCap { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

public static class LimitScope
{
    public const string Key = "key";
    public const string Customer = "customer";
}
