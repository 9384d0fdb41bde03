using System.Diagnostics;
using System.Text;

namespace Serverless.Benchmarks;

/// <summary>
/// A process this benchmark started: its output is kept (for the error message when it fails) and it is
/// killed with its children when disposed, so nothing outlives the benchmark.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _standardOutput = new();

    private ChildProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        var child = new ChildProcess(new Process { StartInfo = startInfo });
        child._process.OutputDataReceived += (_, e) => child.Append(e.Data, standardOutput: true);
        child._process.ErrorDataReceived += (_, e) => child.Append(e.Data, standardOutput: false);
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a command to the end and returns its standard output; a non-zero exit is an error.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        using var child = Start(fileName, arguments, environment);
        // The parameterless wait also drains the redirected output, so nothing is missing below.
        await child._process.WaitForExitAsync(cancellationToken);
        child._process.WaitForExit();
        if (child._process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{fileName} {string.Join(' ', arguments)}' exited with {child._process.ExitCode}:\n{child.Output}");
        }

        lock (child._output)
        {
            return child._standardOutput.ToString();
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void Append(string? line, bool standardOutput)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
                if (standardOutput)
                {
                    _standardOutput.AppendLine(line);
                }
            }
        }
    }
}
