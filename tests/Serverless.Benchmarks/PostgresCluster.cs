using System.Globalization;

namespace Serverless.Benchmarks;

/// <summary>
/// A private PostgreSQL cluster started with the tests' own script (tests/Shared/postgres.sh), with its data on
/// the disk: the script's default puts test data on /dev/shm, where an fsync costs nothing, which would make
/// commits look cheaper than they are. The script's watchdog stops the cluster if this process dies.
/// </summary>
internal sealed class PostgresCluster : IDisposable
{
    private readonly string _script;
    private readonly string _folder;

    private PostgresCluster(string script, string folder, string connectionString)
    {
        _script = script;
        _folder = folder;
        ConnectionString = connectionString;
    }

    /// <summary>Superuser connection to the maintenance database "postgres".</summary>
    public string ConnectionString { get; }

    public static async Task<PostgresCluster> StartAsync(string folder, CancellationToken cancellationToken)
    {
        string script = FindScript();
        var environment = new Dictionary<string, string> { ["PG_TEST_DATA_ON_DISK"] = "1" };
        string output = await ChildProcess.RunAsync(
            "bash", [script, "start", folder, Environment.ProcessId.ToString(CultureInfo.InvariantCulture)], environment, cancellationToken);
        return new PostgresCluster(script, folder, output.Trim());
    }

    /// <summary>
    /// CPU time (user + system) of the whole cluster so far: the postmaster, its live children (the backends, the WAL
    /// writer, the checkpointer, ...) and the children it has reaped (Linux /proc; zero elsewhere).
    /// </summary>
    public TimeSpan ServerCpu()
    {
        try
        {
            string pidFile = Path.Combine(_folder, "data", "postmaster.pid");
            int postmaster = int.Parse(File.ReadLines(pidFile).First().Trim(), CultureInfo.InvariantCulture);
            long ticks = 0;
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    continue;
                }

                string[]? fields = StatFields(pid);
                if (fields is null)
                {
                    continue;
                }

                // Fields after the command: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
                if (pid == postmaster)
                {
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                        + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                }
                else if (fields[1] == postmaster.ToString(CultureInfo.InvariantCulture))
                {
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }

            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    // /proc/<pid>/stat split after the ")" that ends the command name (which may itself hold spaces).
    private static string[]? StatFields(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int end = stat.LastIndexOf(')');
            return end < 0 ? null : stat[(end + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try
        {
            ChildProcess.RunAsync("bash", [_script, "stop", _folder], new Dictionary<string, string>(), CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // The watchdog stops it once this process is gone.
        }
    }

    // The benchmark runs from a checkout: tests/Shared/postgres.sh above the build output.
    private static string FindScript()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string script = Path.Combine(directory.FullName, "tests", "Shared", "postgres.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        throw new InvalidOperationException("tests/Shared/postgres.sh not found above " + AppContext.BaseDirectory);
    }
}
