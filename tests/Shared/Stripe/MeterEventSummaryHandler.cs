using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Testing.Stripe;

/// <summary>
/// GET /v1/billing/meters/{id}/event_summaries. Enforced as Stripe documents: customer, start_time and end_time are
/// required; start_time &lt; end_time; both on minute boundaries, on hour boundaries for value_grouping_window=hour and
/// on UTC midnights for day. Without a window there is one summary for [start_time, end_time) (even if zero); with
/// one, a summary per window holding live events, newest window first. Cancelled events are left out. Unlike Stripe,
/// aggregation is immediate (Stripe's summaries are eventually consistent).
/// </summary>
internal static class MeterEventSummaryHandler
{
    private static readonly HashSet<string> Parameters =
        ["customer", "start_time", "end_time", "value_grouping_window", "limit", "starting_after", "ending_before", "expand"];

    public static FakeStripeResponse List(FakeStripeStore store, FakeStripeRequest request)
    {
        var meterId = request.Segments[3];
        var query = request.Parameters;
        if (query.FirstUnknown(Parameters) is { } unknown)
        {
            return StripeErrors.Unknown(unknown);
        }

        if (store.Meter(meterId) is not { } meter)
        {
            return StripeErrors.NoSuch("billing meter", meterId);
        }

        if (string.IsNullOrEmpty(query["customer"]))
        {
            return StripeErrors.Missing("customer");
        }

        var customer = query["customer"]!;
        if (!store.Customers.ContainsKey(customer))
        {
            return StripeErrors.NoSuch("customer", customer, "customer");
        }

        if (ParseTime(query, "start_time", out var start) is { } startError)
        {
            return startError;
        }

        if (ParseTime(query, "end_time", out var end) is { } endError)
        {
            return endError;
        }

        if (start >= end)
        {
            return StripeErrors.Invalid("start_time must be before end_time.", "start_time");
        }

        var window = query["value_grouping_window"];
        var step = window switch
        {
            null => (long?)null,
            "hour" => 3600,
            "day" => 86400,
            _ => -1,
        };
        if (step == -1)
        {
            return StripeErrors.Invalid("Invalid value_grouping_window: must be one of day or hour", "value_grouping_window");
        }

        var alignment = step ?? 60;
        var boundary = window switch { "hour" => "hour boundaries", "day" => "day boundaries (00:00 UTC)", _ => "minute boundaries" };
        if (start % alignment != 0)
        {
            return StripeErrors.Invalid($"start_time must be aligned with {boundary}.", "start_time");
        }

        if (end % alignment != 0)
        {
            return StripeErrors.Invalid($"end_time must be aligned with {boundary}.", "end_time");
        }

        var summaries = new List<(string Id, decimal Value, long Start, long End)>();
        if (step is not { } size)
        {
            summaries.Add(Summary(store, meter, customer, start, end));
        }
        else
        {
            for (var from = end - size; from >= start; from -= size)
            {
                var from1 = from;
                var to = from + size;
                var live = store.Events.Exists(e => !e.Cancelled && e.MeterId == meter.Id && e.CustomerId == customer
                    && e.Timestamp.ToUnixTimeSeconds() >= from1 && e.Timestamp.ToUnixTimeSeconds() < to);
                if (live)
                {
                    summaries.Add(Summary(store, meter, customer, from, to));
                }
            }
        }

        return MeterHandlers.Page(summaries, s => s.Id,
            s => StripeJson.Summary(s.Id, meter.Id, s.Value, DateTimeOffset.FromUnixTimeSeconds(s.Start), DateTimeOffset.FromUnixTimeSeconds(s.End)),
            $"/v1/billing/meters/{meter.Id}/event_summaries", query);
    }

    private static (string Id, decimal Value, long Start, long End) Summary(FakeStripeStore store, FakeStripeMeter meter, string customer, long start, long end)
    {
        var value = store.Aggregate(meter, customer, DateTimeOffset.FromUnixTimeSeconds(start), DateTimeOffset.FromUnixTimeSeconds(end));
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('|', meter.Id, customer,
            start.ToString(CultureInfo.InvariantCulture), end.ToString(CultureInfo.InvariantCulture))));
        return ("mtrusg_" + Convert.ToHexStringLower(hash.AsSpan(0, 16)), value, start, end);
    }

    private static FakeStripeResponse? ParseTime(StripeForm query, string name, out long seconds)
    {
        seconds = 0;
        if (query[name] is not { } text)
        {
            return StripeErrors.Missing(name);
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seconds)
            ? null
            : StripeErrors.Invalid($"Invalid integer: {text}", name, "parameter_invalid_integer");
    }
}
