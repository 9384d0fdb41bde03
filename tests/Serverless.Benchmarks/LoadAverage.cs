using System.Globalization;

namespace Serverless.Benchmarks;

/// <summary>The 1-minute load average (Linux), to show whether other work shared the machine with the benchmark.</summary>
internal static class LoadAverage
{
    public static double Read()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return double.NaN;
        }
    }
}
