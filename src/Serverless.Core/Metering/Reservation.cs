namespace Serverless.Core.Metering;

/// <summary>
/// An admitted request that has not been settled: what it may cost at most, held against the budgets of its
/// key and customer. A reservation whose instance died is settled by <see cref="ReservationSweeper"/>.
/// </summary>
public sealed class Reservation
{
    public required string RequestId { get; set; }

    public required string KeyId { get; set; }

    public required string CustomerId { get; set; }

    public required string Model { get; set; }

    public required string InstanceId { get; set; }

    public long PriceVersion { get; set; }

    public long InputMicroUsdPerMillion { get; set; }

    public long OutputMicroUsdPerMillion { get; set; }

    /// <summary>Discount in basis points applied to this request's cost (batch requests).</summary>
    public long DiscountBasisPoints { get; set; }

    public long PromptTokens { get; set; }

    public long MaxTokens { get; set; }

    public long ReservedMicroUsd { get; set; }

    /// <summary>Start of the budget period the reservation is held in.</summary>
    public DateTimeOffset PeriodStart { get; set; }

    /// <summary>Start of the rate-limit window the tokens were counted in.</summary>
    public DateTimeOffset WindowStart { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public string? BatchId { get; set; }
}
