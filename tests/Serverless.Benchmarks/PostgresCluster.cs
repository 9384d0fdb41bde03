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
