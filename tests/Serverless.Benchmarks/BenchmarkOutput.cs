using System.Globalization;
using System.Text;

namespace Serverless.Benchmarks;

/// <summary>What every mode shares: progress on stderr (stdout is the table and the JSON), table lines, temp cleanup.</summary>
internal static class BenchmarkOutput
{
    public static void Progress(string message) => Console.Error.WriteLine($"[bench] {message}");

    public static void Line(StringBuilder text, FormattableString line)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(line);
        text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
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
