using Serverless.Core.Http;

namespace Serverless.Core.Tests.Http;

public sealed class IdsTests
{
    [Fact]
    public void Request_ids_made_later_sort_later_under_ordinal_and_case_insensitive_comparison()
    {
        var start = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 2_000)
            .Select(i => Ids.NewRequestId(start.AddMilliseconds(i * 37L)))
            .ToList();

        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids, ids.Order(StringComparer.OrdinalIgnoreCase));
    }

    [Fact]
    public void Request_ids_keep_the_openai_shape_and_differ_within_one_millisecond()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 1_000).Select(_ => Ids.NewRequestId(now)).ToList();

        Assert.All(ids, id => Assert.Matches("^req_[0-9a-v]{10}[0-9A-Za-z]{14}$", id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_request_id_carries_its_creation_time_to_the_millisecond()
    {
        var at = new DateTimeOffset(2026, 11, 26, 10, 1, 2, 345, TimeSpan.Zero);
        string time = Ids.NewRequestId(at)[4..14];

        long milliseconds = time.Aggregate(0L, (value, c) => (value << 5) | (long)"0123456789abcdefghijklmnopqrstuv".IndexOf(c, StringComparison.Ordinal));
        Assert.Equal(at.ToUnixTimeMilliseconds(), milliseconds);
    }
}
