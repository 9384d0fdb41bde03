namespace Serverless.Core.Metering;

/// <summary>Running totals of one key or customer in one budget period: settled spend plus open reservations.</summary>
public sealed class BudgetUsage
{
    public required string Scope { get; set; }

    public required string ScopeId { get; set; }

    public DateTimeOffset PeriodStart { get; set; }

    public long SpentMicroUsd { get; set; }

    public long ReservedMicroUsd { get; set; }

    public long SpentTokens { get; set; }

    public long ReservedTokens { get; set; }
}
