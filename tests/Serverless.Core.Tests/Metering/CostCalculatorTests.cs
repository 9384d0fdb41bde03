using Serverless.Core.Metering;

namespace Serverless.Core.Tests.Metering;

/// <summary>
/// The one formula every price in the ledger goes through: integer micro-USD per million tokens in, integer micro-USD
/// out, rounded once per record to the nearest micro-USD with halves up.
/// </summary>
public sealed class CostCalculatorTests
{
    [Theory]
    [InlineData(1_000_000, 0, 500_000, 9_999_999, 500_000)]
    [InlineData(0, 1_000_000, 9_999_999, 1_500_000, 1_500_000)]
    [InlineData(1_000_000, 1_000_000, 500_000, 1_500_000, 2_000_000)]
    [InlineData(7, 0, 1_000_000, 0, 7)]
    [InlineData(250_000, 750_000, 400_000, 800_000, 700_000)]
    public void Prices_are_per_million_tokens_and_a_whole_cost_comes_out_exact(long prompt, long completion, long inputPerMillion, long outputPerMillion, long expected) =>
        Assert.Equal(expected, CostCalculator.CostMicroUsd(prompt, completion, inputPerMillion, outputPerMillion));

    [Theory]
    [InlineData(1, 499_999, 0)] // 0.499999
    [InlineData(1, 500_000, 1)] // 0.5: a half goes up
    [InlineData(1, 1_500_000, 2)] // 1.5
    [InlineData(1, 2_500_000, 3)] // 2.5: up, not to the even 2 (banker's rounding would say 2)
    [InlineData(5, 500_000, 3)] // 2.5 again, from five tokens
    [InlineData(3, 333_333, 1)] // 0.999999
    [InlineData(1, 1_499_999, 1)] // 1.499999
    public void A_fraction_of_a_micro_usd_rounds_to_the_nearest_with_halves_up(long prompt, long inputPerMillion, long expected) =>
        Assert.Equal(expected, CostCalculator.CostMicroUsd(prompt, 0, inputPerMillion, 0));

    [Fact]
    public void The_cost_of_a_record_is_rounded_once_not_per_part()
    {
        // Half a micro-USD of prompt and half of completion make one, not two (each rounded up) ...
        Assert.Equal(1, CostCalculator.CostMicroUsd(1, 1, 500_000, 500_000));

        // ... and 0.4 + 0.4 makes 0.8, one, not zero (each rounded down).
        Assert.Equal(1, CostCalculator.CostMicroUsd(1, 1, 400_000, 400_000));

        // One token at 0.4 costs nothing; a record of a thousand such tokens costs 400: rounding is per record, not per token.
        Assert.Equal(0, CostCalculator.CostMicroUsd(1, 0, 400_000, 0));
        Assert.Equal(400, CostCalculator.CostMicroUsd(1_000, 0, 400_000, 0));
    }

    [Theory]
    [InlineData(2_000_000, 0, 5_000, 1_000_000)] // 50 % off
    [InlineData(1_000_000, 1_000_000, 2_500, 1_500_000)] // 25 % off the prompt and the completion
    [InlineData(1, 0, 5_000, 1)] // 0.5 after the discount: up
    [InlineData(3, 0, 3_333, 2)] // 3 × 0.6667 = 2.0001
    [InlineData(1_000_000, 1_000_000, 10_000, 0)] // free
    [InlineData(1_000_000, 0, 0, 1_000_000)] // no discount
    public void A_discount_in_basis_points_applies_to_the_whole_cost_before_rounding(long prompt, long completion, long discountBasisPoints, long expected) =>
        Assert.Equal(expected, CostCalculator.CostMicroUsd(prompt, completion, 1_000_000, 1_000_000, discountBasisPoints));

    [Fact]
    public void No_tokens_or_no_price_cost_nothing()
    {
        Assert.Equal(0, CostCalculator.CostMicroUsd(0, 0, 500_000, 1_500_000));
        Assert.Equal(0, CostCalculator.CostMicroUsd(0, 0, 0, 0));
        Assert.Equal(0, CostCalculator.CostMicroUsd(1_000_000, 1_000_000, 0, 0));
        Assert.Equal(0, CostCalculator.CostMicroUsd(0, 0, PriceBook.MaxMicroUsdPerMillion, PriceBook.MaxMicroUsdPerMillion, 5_000));
    }

    [Fact]
    public void Products_beyond_64_bits_stay_exact()
    {
        // 1e9 tokens at the highest price the price book takes: 1e21 before the division, past long.MaxValue (9.2e18).
        Assert.Equal(1_000_000_000_000_000, CostCalculator.CostMicroUsd(1_000_000_000, 0, PriceBook.MaxMicroUsdPerMillion, 0));

        // Both parts at that scale, times a discount's 9,999 basis points: 8e25 before the division, exact to the unit.
        Assert.Equal(7_999_200_000_000_000, CostCalculator.CostMicroUsd(4_000_000_000, 4_000_000_000, PriceBook.MaxMicroUsdPerMillion, PriceBook.MaxMicroUsdPerMillion, 1));

        // More than a request can ever be charged (the parser caps max_tokens at int.MaxValue and a prompt is far
        // shorter), both at the highest price: 4.3e21 before the division, and the cost, 4.3e15, far inside a long.
        Assert.Equal(4_294_967_294_000_000, CostCalculator.CostMicroUsd(int.MaxValue, int.MaxValue, PriceBook.MaxMicroUsdPerMillion, PriceBook.MaxMicroUsdPerMillion));

        // The most tokens a long holds, at one micro-USD per million: 9,223,372,036,854.775807 rounds up. A double
        // (53 bits) would not even hold the token count.
        Assert.Equal(9_223_372_036_855, CostCalculator.CostMicroUsd(long.MaxValue, 0, 1, 0));
        Assert.Equal(9_223_372_036_855 * 2, CostCalculator.CostMicroUsd(long.MaxValue, long.MaxValue, 1, 1));
    }

    [Fact]
    public void A_cost_beyond_what_a_long_holds_fails_instead_of_wrapping()
    {
        // long.MaxValue tokens each way at the highest price: ~1.8e25 micro-USD, past long.MaxValue (9.2e18).
        Assert.Throws<OverflowException>(() => CostCalculator.CostMicroUsd(long.MaxValue, long.MaxValue, PriceBook.MaxMicroUsdPerMillion, PriceBook.MaxMicroUsdPerMillion));
        Assert.Throws<OverflowException>(() => CostCalculator.CostMicroUsd(long.MaxValue, 0, 1_000_001, 0));

        // Just inside: long.MaxValue tokens at 1,000,000 micro-USD per million cost exactly long.MaxValue.
        Assert.Equal(long.MaxValue, CostCalculator.CostMicroUsd(long.MaxValue, 0, 1_000_000, 0));
    }

    [Theory]
    [InlineData(-1, 0, 0, 0, 0)]
    [InlineData(0, -1, 0, 0, 0)]
    [InlineData(0, 0, -1, 0, 0)]
    [InlineData(0, 0, 0, -1, 0)]
    [InlineData(0, 0, 0, 0, -1)]
    [InlineData(0, 0, 0, 0, 10_001)]
    public void Negative_counts_or_prices_and_discounts_outside_0_to_10000_basis_points_are_refused(long prompt, long completion, long inputPerMillion, long outputPerMillion, long discountBasisPoints) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CostCalculator.CostMicroUsd(prompt, completion, inputPerMillion, outputPerMillion, discountBasisPoints));
}
