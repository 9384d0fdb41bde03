using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Metering;

/// <summary>The start/end query parameters of usage routes: Unix seconds or ISO 8601, end exclusive, default the current period.</summary>
public static class UsageRange
{
    public static (DateTimeOffset Start, DateTimeOffset End) Parse(IQueryCollection query, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(query);
        var start = ParseTime(query, "start") ?? MeteringClock.PeriodStart(now);
        var end = ParseTime(query, "end") ?? MeteringClock.PeriodEnd(now);
        if (end <= start)
        {
            throw ApiException.InvalidValue("end", "'end' must be after 'start'.");
        }

        return (start, end);
    }

    public static long? ParseLimit(IQueryCollection query, string name = "limit")
    {
        ArgumentNullException.ThrowIfNull(query);
        string? text = query[name].FirstOrDefault();
        if (text is null)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < 1)
        {
            throw ApiException.InvalidValue(name, $"'{name}' must be a positive integer; got '{text}'.");
        }

        return value;
    }

    private static DateTimeOffset? ParseTime(IQueryCollection query, string name)
    {
        string? text = query[name].FirstOrDefault();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long seconds))
        {
            if (seconds is < 0 or > 253_402_300_799)
            {
                throw ApiException.InvalidValue(name, $"'{name}' is out of range: {text}.");
            }

            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        throw ApiException.InvalidValue(name, $"'{name}' must be Unix seconds or an ISO 8601 date or time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z); got '{text}'.");
    }
}
