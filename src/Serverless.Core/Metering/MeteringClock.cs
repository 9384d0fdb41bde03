namespace Serverless.Core.Metering;

/// <summary>Rate windows are whole UTC minutes; budget periods are calendar months in UTC.</summary>
public static class MeteringClock
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public static DateTimeOffset WindowStart(DateTimeOffset now)
    {
        long ms = now.ToUnixTimeMilliseconds();
        return DateTimeOffset.FromUnixTimeMilliseconds(ms - (ms % (long)Window.TotalMilliseconds));
    }

    public static DateTimeOffset PeriodStart(DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
    }

    public static DateTimeOffset PeriodEnd(DateTimeOffset now) => PeriodStart(now).AddMonths(1);
}
