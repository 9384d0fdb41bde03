using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Faults;

/// <summary>
/// The local host as a child process over its own SQLite file and Azurite, set up as run.sh does it (migrated, the
/// demo model uploaded and priced, a key for customer "dev"), for a scenario that kills it with SIGKILL (no shutdown
/// code runs) and starts it again over the same database and storage. It keeps a timeline of what happened when,
/// which with everything the host printed makes the <see cref="Report"/> for failure messages.
/// </summary>
public sealed class CrashHost : IAsyncDisposable
{
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly AzuriteFixture _azurite = new();
    private readonly string _root;
    private readonly Stopwatch _clock = new();
    private readonly List<string> _timeline = [];
    private LocalHostProcess? _host;
    private string _devKey = string.Empty;

    /// <param name="name">Starts the name of the host's temporary folder.</param>
    /// <param name="settings">The scenario's configuration, on top of the database, storage and secrets.</param>
    public CrashHost(string name, IReadOnlyDictionary<string, string?> settings)
    {
        _settings = settings;
        _root = Path.Combine(Path.GetTempPath(), name + "-" + Guid.NewGuid().ToString("N"));
    }

    public string ConnectionString => $"Data Source={Path.Combine(_root, "serverless.db")}";

    /// <summary>The process killed by <see cref="Kill"/>.</summary>
    public int CrashedProcessId { get; private set; }

    /// <summary>The process started by <see cref="RestartAsync"/>.</summary>
    public int RestartedProcessId { get; private set; }

    /// <summary>What happened when, and everything the host printed.</summary>
    public string Report => string.Join('\n', _timeline) + "\nHost output:\n" + _host?.Output;

    /// <summary>How the ledger names the instances of a process: records and reservations start with it.</summary>
    public static string InstancePrefix(int processId) =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{processId}:");

    /// <summary>Starts Azurite, runs <c>setup</c> over a new database and starts the host.</summary>
    public async Task StartAsync()
    {
        _clock.Start();
        await _azurite.InitializeAsync();
        Directory.CreateDirectory(_root);
        var settings = new Dictionary<string, string?>
        {
            ["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Admin:Key"] = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)),
            ["Database:ConnectionString"] = ConnectionString,
            ["ModelStorage:BlobConnectionString"] = _azurite.ConnectionString,
            ["ModelStorage:CacheDirectory"] = Path.Combine(_root, "cache"),
            ["AzureWebJobsStorage"] = _azurite.ConnectionString,
        };
        foreach (var (key, value) in _settings)
        {
            settings[key] = value;
        }

        _host = new LocalHostProcess(settings);

        // setup migrates, uploads the demo model, prices it and creates a key for customer "dev", as run.sh does.
        string keyFile = Path.Combine(_root, "dev-key");
        var setup = await _host.RunCommandAsync("setup", "--dev-key-file", keyFile);
        if (setup.ExitCode != 0)
        {
            throw new InvalidOperationException($"setup failed ({setup.ExitCode}):\n{setup.Output}");
        }

        _devKey = (await File.ReadAllTextAsync(keyFile)).Trim();
        await _host.StartAsync();
        CrashedProcessId = _host.ProcessId;
        Log("host started");
    }

    /// <summary>A client with the dev key; it keeps working across the restart (the host keeps its port).</summary>
    public HttpClient CreateClient() => Host.CreateClient(_devKey);

    /// <summary>SIGKILL: no graceful shutdown, no hosted service stops, nothing flushed.</summary>
    public void Kill()
    {
        Host.Kill();
        Log("host killed (SIGKILL)");
    }

    /// <summary>Starts the host again over the same database and storage.</summary>
    public async Task RestartAsync()
    {
        await Host.StartAsync();
        RestartedProcessId = Host.ProcessId;
        Log("host restarted");
    }

    /// <summary>A context on the host's database, read while the host runs (WAL: readers do not block it).</summary>
    public ServerlessDbContext Database() =>
        new(new DbContextOptionsBuilder<ServerlessDbContext>().UseSqlite(ConnectionString).Options);

    public void Log(string message) =>
        _timeline.Add(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:F2}s {message}"));

    public async Task<T> WithinAsync<T>(Task<T> task, TimeSpan timeout, string what)
    {
        await WithinAsync((Task)task, timeout, what);
        return await task;
    }

    public async Task WithinAsync(Task task, TimeSpan timeout, string what)
    {
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {timeout} waiting for {what}.\n{Report}");
        }
    }

    /// <summary>
    /// Polls the database until <paramref name="condition"/> holds: waiting on a condition, it returns as soon as it
    /// holds, and fails with the report after <paramref name="timeout"/>.
    /// </summary>
    public async Task UntilAsync(Func<ServerlessDbContext, Task<bool>> condition, TimeSpan timeout, string what, TimeSpan poll)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await using (var db = Database())
            {
                if (await condition(db))
                {
                    return;
                }
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.\n{Report}");
            }

            await Task.Delay(poll);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The host process (its port stays across restarts).</summary>
    public LocalHostProcess Host => _host ?? throw new InvalidOperationException("The host has not been started.");
}
