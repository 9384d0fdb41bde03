using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Serverless.Benchmarks;

/// <summary>What every mode shares: progress on stderr (stdout is the table and the JSON), table lines, the JSON line, temp cleanup.</summary>
internal static class BenchmarkOutput
{
    public static void Progress(string message) => Console.Error.WriteLine($"[bench] {message}");

    public static void Line(StringBuilder text, FormattableString line)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(line);
        text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
    }

    // A load average above this at the start means something else was running when the benchmark began.
    private const double BusyAtStart = 1.0;

    /// <summary>The table's first line: the mode, the machine and the load average around the run, and a warning if it was busy.</summary>
    public static void Header(StringBuilder text, string title, (double Start, double End) load, double busyAtEnd, string steadier)
    {
        Line(text, $"{title}: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {RuntimeInformation.OSDescription}; load average {load.Start:0.00} at start, {load.End:0.00} at end");
        BusyWarning(text, load, busyAtEnd, steadier);
    }

    /// <summary>Warns when other work shared the machine; <paramref name="steadier"/> names the numbers that suffer least.</summary>
    public static void BusyWarning(StringBuilder text, (double Start, double End) load, double busyAtEnd, string steadier)
    {
        if (load.Start > BusyAtStart || load.End > busyAtEnd)
        {
            Line(text, $"WARNING: other work shared the machine (load average); wall-time numbers are unreliable, {steadier} less so");
        }
    }

    /// <summary>Rounds half away from zero, as the JSON line's numbers are.</summary>
    public static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

    /// <summary>The one-object JSON line every mode ends with: the mode and the load average, then the mode's own fields.</summary>
    public static string JsonLine(string mode, (double Start, double End) load, Action<Utf8JsonWriter> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("mode", mode);
            json.WriteNumber("load_average_start", Round(load.Start, 2));
            json.WriteNumber("load_average_end", Round(load.End, 2));
            fields(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Removes a benchmark's temp folder; a leftover file (a process still closing) is not worth failing over.</summary>
    public static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
