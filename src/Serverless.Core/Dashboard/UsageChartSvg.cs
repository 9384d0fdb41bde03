using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Serverless.Core.Dashboard;

/// <summary>
/// The daily usage chart as SVG, drawn on the server: stacked bars of input and output tokens per day and a line
/// for cost, with a tooltip per day. Each day's group carries its exact numbers as data-* attributes. Colours are
/// presentation attributes (the page's CSS may restyle them), never inline styles, which the page's CSP forbids.
/// </summary>
public static class UsageChartSvg
{
    public const int MinWidth = 280;
    public const int MaxWidth = 1600;
    public const int DefaultWidth = 960;

    private const int Height = 260;
    private const int Top = 14;
    private const int Bottom = 28;
    private const int Left = 52;
    private const int Right = 60;
    private const int Ticks = 4;

    public static string Render(IReadOnlyList<DailyUsageObject> days, int width)
    {
        ArgumentNullException.ThrowIfNull(days);
        width = Math.Clamp(width, MinWidth, MaxWidth);
        double plotWidth = width - Left - Right;
        double plotHeight = Height - Top - Bottom;
        long tokenMax = NiceCeiling(days.Count == 0 ? 0 : days.Max(d => d.PromptTokens + d.CompletionTokens));
        long costMax = NiceCeiling(days.Count == 0 ? 0 : days.Max(d => d.CostMicroUsd));
        long totalTokens = days.Sum(d => d.PromptTokens + d.CompletionTokens);
        long totalCost = days.Sum(d => d.CostMicroUsd);

        var svg = new StringBuilder(16 * 1024);
        Append(svg, $"""<svg xmlns="http://www.w3.org/2000/svg" class="usage-chart" viewBox="0 0 {width} {Height}" width="{width}" height="{Height}" role="img" aria-labelledby="usage-chart-title usage-chart-desc" data-days="{days.Count}" data-token-max="{tokenMax}" data-cost-max="{costMax}">""");
        Append(svg, $"""<title id="usage-chart-title">Daily usage, last {days.Count} days (UTC)</title>""");
        Append(svg, $"""<desc id="usage-chart-desc">{Text($"{Tokens(totalTokens)} tokens and {Money(totalCost)} over {days.Count} days. Bars: input and output tokens per day; line: cost per day.")}</desc>""");

        // Grid and both axes' labels: tokens on the left, cost on the right.
        for (int i = 0; i <= Ticks; i++)
        {
            double y = Top + plotHeight - (plotHeight * i / Ticks);
            Append(svg, $"""<line class="grid" x1="{Left}" x2="{width - Right}" y1="{F(y)}" y2="{F(y)}" stroke="#e5e7eb" stroke-width="1"/>""");
            Append(svg, $"""<text class="axis-label axis-tokens" x="{Left - 8}" y="{F(y + 4)}" text-anchor="end" fill="#6b7280" font-size="11">{Text(Tokens(tokenMax * i / Ticks))}</text>""");
            Append(svg, $"""<text class="axis-label axis-cost" x="{width - Right + 8}" y="{F(y + 4)}" text-anchor="start" fill="#6b7280" font-size="11">{Text(Money(costMax * i / Ticks))}</text>""");
        }

        double slot = days.Count == 0 ? plotWidth : plotWidth / days.Count;
        double barWidth = Math.Max(2, slot * 0.62);
        int labelEvery = slot >= 30 ? 3 : slot >= 18 ? 5 : 7;
        var costPoints = new StringBuilder();
        for (int i = 0; i < days.Count; i++)
        {
            var d = days[i];
            double x = Left + (slot * i);
            double center = x + (slot / 2);
            double inputHeight = plotHeight * d.PromptTokens / tokenMax;
            double outputHeight = plotHeight * d.CompletionTokens / tokenMax;
            double baseY = Top + plotHeight;
            double costY = baseY - (plotHeight * d.CostMicroUsd / costMax);
            string day = DateLabel(d.Day);
            Append(svg, $"""<g class="day" data-day="{Text(d.Day)}" data-requests="{d.Requests}" data-prompt-tokens="{d.PromptTokens}" data-completion-tokens="{d.CompletionTokens}" data-cost-micro-usd="{d.CostMicroUsd}">""");
            Append(svg, $"""<title>{Text($"{day}: {Tokens(d.PromptTokens, exact: true)} input, {Tokens(d.CompletionTokens, exact: true)} output tokens, {Money(d.CostMicroUsd, exact: true)}, {d.Requests} requests")}</title>""");
            Append(svg, $"""<rect class="hit" x="{F(x)}" y="{Top}" width="{F(slot)}" height="{F(plotHeight)}" fill="transparent"/>""");
            if (inputHeight > 0)
            {
                Append(svg, $"""<rect class="bar bar-input" x="{F(center - (barWidth / 2))}" y="{F(baseY - inputHeight)}" width="{F(barWidth)}" height="{F(inputHeight)}" fill="#a5b4fc"/>""");
            }

            if (outputHeight > 0)
            {
                Append(svg, $"""<rect class="bar bar-output" x="{F(center - (barWidth / 2))}" y="{F(baseY - inputHeight - outputHeight)}" width="{F(barWidth)}" height="{F(outputHeight)}" fill="#4f46e5"/>""");
            }

            Append(svg, $"""<circle class="cost-dot" cx="{F(center)}" cy="{F(costY)}" r="{(d.CostMicroUsd > 0 ? 2.5 : 0).ToString(CultureInfo.InvariantCulture)}" fill="#d97706"/>""");
            svg.Append("</g>");
            costPoints.Append(F(center)).Append(',').Append(F(costY)).Append(' ');

            if ((days.Count - 1 - i) % labelEvery == 0)
            {
                Append(svg, $"""<text class="axis-label axis-day" x="{F(center)}" y="{Height - 8}" text-anchor="middle" fill="#6b7280" font-size="11">{Text(day)}</text>""");
            }
        }

        if (days.Count > 1)
        {
            Append(svg, $"""<polyline class="cost-line" points="{costPoints.ToString().TrimEnd()}" fill="none" stroke="#d97706" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>""");
        }

        if (totalTokens == 0 && totalCost == 0)
        {
            Append(svg, $"""<text class="chart-empty" x="{F(Left + (plotWidth / 2))}" y="{F(Top + (plotHeight / 2))}" text-anchor="middle" fill="#6b7280" font-size="13">No usage in the last {days.Count} days</text>""");
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>The smallest 1, 2, 2.5 or 5 times a power of ten that is at least <paramref name="value"/> (1 for nothing).</summary>
    public static long NiceCeiling(long value)
    {
        if (value <= 1)
        {
            return 1;
        }

        long magnitude = 1;
        while (magnitude <= value / 10)
        {
            magnitude *= 10;
        }

        foreach (var (numerator, denominator) in new (long, long)[] { (1, 1), (2, 1), (5, 2), (5, 1) })
        {
            if (magnitude * numerator % denominator == 0 && magnitude * numerator / denominator >= value)
            {
                return magnitude * numerator / denominator;
            }
        }

        return magnitude * 10;
    }

    private static string Tokens(long tokens, bool exact = false) =>
        exact || tokens < 1000 ? tokens.ToString("N0", CultureInfo.InvariantCulture)
        : tokens < 1_000_000 ? Compact(tokens / 1000.0) + "k"
        : tokens < 1_000_000_000 ? Compact(tokens / 1_000_000.0) + "M"
        : Compact(tokens / 1_000_000_000.0) + "B";

    private static string Compact(double value) => value.ToString(value >= 100 ? "0" : "0.#", CultureInfo.InvariantCulture);

    /// <summary>Micro-USD as dollars: exact (all six decimals) for tooltips, short for axis labels.</summary>
    private static string Money(long microUsd, bool exact = false)
    {
        decimal dollars = microUsd / 1_000_000m;
        if (exact)
        {
            return dollars.ToString("$#,##0.000000", CultureInfo.InvariantCulture);
        }

        return microUsd == 0 ? "$0"
            : dollars >= 100 ? dollars.ToString("$#,##0", CultureInfo.InvariantCulture)
            : dollars >= 1 ? dollars.ToString("$0.##", CultureInfo.InvariantCulture)
            : dollars >= 0.01m ? dollars.ToString("$0.00##", CultureInfo.InvariantCulture)
            : dollars.ToString("$0.######", CultureInfo.InvariantCulture);
    }

    private static string DateLabel(string day) =>
        DateTime.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date.ToString("MMM d", CultureInfo.InvariantCulture)
            : day;

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Text(string value) => HtmlEncoder.Default.Encode(value);

    private static void Append(StringBuilder svg, FormattableString text) => svg.Append(text.ToString(CultureInfo.InvariantCulture));
}
