using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Serverless.Testing;

/// <summary>
/// The PostgreSQL server tests run against: the one <c>test.sh</c> started (its connection string in
/// <see cref="EnvironmentVariable"/>) or, when tests run without it (an IDE, a bare <c>dotnet test</c>), a
/// private cluster this process starts on first use with the same script and stops when it exits.
/// Tests never share data: each asks for its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer
{
    public const string EnvironmentVariable = "SERVERLESS_TEST_POSTGRES";

    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);

    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartSharedAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private PostgresServer(string connectionString) => ConnectionString = connectionString;

    /// <summary>Superuser connection to the maintenance database "postgres"; tests should not put data there.</summary>
    public string ConnectionString { get; }

    /// <summary>The server for this test process; the first call may start a cluster (about a second).</summary>
    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>Creates an empty database (test_&lt;guid&gt;) that is dropped when the result is disposed.</summary>
    public async Task<PostgresDatabase> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = "test_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync($"CREATE DATABASE \"{name}\"", cancellationToken);
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name };
        return new PostgresDatabase(this, name, builder.ConnectionString);
    }

    internal async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
#pragma warning disable CA2100 // Database names are generated GUIDs, not input.
        command.CommandText = sql;
#pragma warning restore CA2100
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<PostgresServer> StartSharedAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured)
        {
            return new PostgresServer(configured);
        }

        var folder = Path.Combine(Path.GetTempPath(), "serverless-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var connectionString = await RunScriptAsync("start", folder, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var server = new PostgresServer(connectionString);

        // The script's watchdog would also stop it within a second of this process ending; this is just sooner.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunScriptAsync("stop", folder).GetAwaiter().GetResult();
        return server;
    }

    private static async Task<string> RunScriptAsync(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(FindScript());
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException("Could not start bash to run postgres.sh.");
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"postgres.sh {string.Join(' ', arguments)} failed with exit code {process.ExitCode}. " +
                $"Install PostgreSQL (apt-get install -y postgresql) or set {EnvironmentVariable}.\n{await error}");
        }

        return (await output).Trim();
    }

    // Copied next to the test assembly by the test project (see the <None Include="..\Shared\postgres.sh"> item).
    private static string FindScript()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Shared", "postgres.sh");
        return File.Exists(script)
            ? script
            : throw new FileNotFoundException("postgres.sh was not copied next to the test assembly.", script);
    }
}
