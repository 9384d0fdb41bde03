using System.Globalization;
using System.Xml.Linq;
using Serverless.Core.Dashboard;

namespace Serverless.Core.Tests.Dashboard;

public sealed class UsageChartSvgTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static List<DailyUsageObject> Days(int count, Func<int, long> tokens) =>
        Enumerable.Range(0, count)
            .Select(i => new DailyUsageObject(new DateTime(2026, 10, 28).AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), i, tokens(i), tokens(i) / 4, tokens(i) * 3))
            .ToList();

    [Fact]
    public void Each_day_is_a_group_carrying_its_exact_numbers_in_well_formed_svg()
    {
        var days = Days(30, i => 1000L * i);
        var svg = XDocument.Parse(UsageChartSvg.Render(days, 960)).Root!;
        Assert.Equal(Svg + "svg", svg.Name);
        Assert.Equal("img", (string?)svg.Attribute("role"));

        var groups = svg.Elements(Svg + "g").Where(g => (string?)g.Attribute("class") == "day").ToList();
        Assert.Equal(30, groups.Count);
        for (int i = 0; i < days.Count; i++)
        {
            Assert.Equal(days[i].Day, (string?)groups[i].Attribute("data-day"));
            Assert.Equal(days[i].PromptTokens, (long)groups[i].Attribute("data-prompt-tokens")!);
            Assert.Equal(days[i].CompletionTokens, (long)groups[i].Attribute("data-completion-tokens")!);
            Assert.Equal(days[i].CostMicroUsd, (long)groups[i].Attribute("data-cost-micro-usd")!);
            Assert.Equal(days[i].Requests, (long)groups[i].Attribute("data-requests")!);
        }

        Assert.Contains("Nov 26: 29,000 input, 7,250 output tokens, $0.087000, 29 requests", groups[^1].Element(Svg + "title")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void The_chart_never_uses_inline_styles_or_scripts_which_the_page_policy_forbids()
    {
        string svg = UsageChartSvg.Render(Days(30, i => 12_345L * i), 640);
        Assert.DoesNotContain("style", svg, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("script", svg, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" on", svg, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void No_usage_draws_an_empty_chart_that_says_so_and_widths_are_clamped()
    {
        var svg = XDocument.Parse(UsageChartSvg.Render(Days(30, _ => 0), 10)).Root!;
        Assert.Equal(UsageChartSvg.MinWidth.ToString(CultureInfo.InvariantCulture), (string?)svg.Attribute("width"));
        Assert.Contains(svg.Descendants(Svg + "text"), t => t.Value == "No usage in the last 30 days");
        Assert.DoesNotContain(svg.Descendants(Svg + "rect"), r => ((string?)r.Attribute("class"))?.StartsWith("bar", StringComparison.Ordinal) == true);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(10, 10)]
    [InlineData(11, 20)]
    [InlineData(23, 25)]
    [InlineData(26, 50)]
    [InlineData(51, 100)]
    [InlineData(123_456, 200_000)]
    [InlineData(210_000, 250_000)]
    public void Axis_maxima_are_round_numbers_at_least_the_largest_value(long value, long expected) =>
        Assert.Equal(expected, UsageChartSvg.NiceCeiling(value));
}
