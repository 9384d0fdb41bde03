using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;
using Serverless.Testing;

namespace Serverless.Integration.Tests.ScaleOut;

/// <summary>
/// Three local hosts, each its own process (its own instance id, key cache, ledger writer and model cache), on one
/// PostgreSQL database and one Azurite: the shape of a scaled-out Function App. Set up once as run.sh does it
/// (migrations, the demo model uploaded and priced), over PostgreSQL. Each host runs as its own Azure instance
/// (<c>WEBSITE_INSTANCE_ID</c>), as a scaled-out app's instances do: none can judge another by its process table, only
/// by its heartbeat.
/// </summary>
public class Fleet : IAsyncLifetime
{
    public const int Size = 3;

    /// <summary>How long a host keeps a key's verification: revocation reaches every instance within it.</summary>
    public static readonly TimeSpan KeyCacheTtl = TimeSpan.FromSeconds(2);

    private readonly AzuriteFixture _azurite = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "svl-fleet-" + Guid.NewGuid().ToString("N"));
    private readonly List<LocalHostProcess> _hosts = [];
    private PostgresDatabase? _database;

    public string AdminKey { get; } = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public IReadOnlyList<LocalHostProcess> Hosts => _hosts;

    /// <summary>How long setting up and starting the fleet took (for reports).</summary>
    public TimeSpan StartedIn { get; private set; }

    public string ConnectionString => _database?.ConnectionString ?? throw new InvalidOperationException("The fleet has not started.");

    /// <summary>The fleet's one storage account (Azurite): model blobs, batch files and the Durable Task hub.</summary>
    public string StorageConnectionString => _azurite.ConnectionString;

    /// <summary>Settings every host gets on top of the fleet's own.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    /// <summary>Settings of host <paramref name="index"/> alone, on top of the shared ones.</summary>
    protected virtual IReadOnlyDictionary<string, string?> HostSettings(int index) => new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await _azurite.InitializeAsync();
        _database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        Directory.CreateDirectory(_root);
        var shared = new Dictionary<string, string?>
        {
            ["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Keys:CacheTtl"] = KeyCacheTtl.ToString("c"),
            ["Admin:Key"] = AdminKey,
            ["Database:Provider"] = "Postgres",
            ["Database:ConnectionString"] = _database.ConnectionString,
            ["Database:MaxPoolSize"] = "4",
            // Heartbeats carry each instance's loaded models and slots to the operator overview.
            ["Metering:HeartbeatInterval"] = "00:00:01",
            ["ModelStorage:BlobConnectionString"] = _azurite.ConnectionString,
            ["AzureWebJobsStorage"] = _azurite.ConnectionString,
        };
        foreach (var (key, value) in Settings)
        {
            shared[key] = value;
        }

        for (int i = 0; i < Size; i++)
        {
            var settings = new Dictionary<string, string?>(shared)
            {
                ["ModelStorage:CacheDirectory"] = Path.Combine(_root, $"cache-{i}"),
                [InstanceIdentity.AzureInstanceVariable] = AzureInstanceId(i),
            };
            foreach (var (key, value) in HostSettings(i))
            {
                settings[key] = value;
            }

            _hosts.Add(new LocalHostProcess(settings));
        }

        var setup = await _hosts[0].RunCommandAsync("setup", "--dev-key-file", Path.Combine(_root, "dev-key"));
        if (setup.ExitCode != 0)
        {
            throw new InvalidOperationException($"setup failed ({setup.ExitCode}):\n{setup.Output}");
        }

        await Task.WhenAll(_hosts.Select(h => h.StartAsync()));
        StartedIn = started.Elapsed;
    }

    /// <summary>The start of the ledger instance id of host <paramref name="host"/>'s current process.</summary>
    public string InstancePrefix(int host) =>
        $"{InstanceIdentity.MachineOf(Environment.MachineName, AzureInstanceId(host))}:{_hosts[host].ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)}:";

    private static string AzureInstanceId(int host) => $"fleet{host}";

    /// <summary>A new API key of <paramref name="customer"/>, issued through the first host's admin API.</summary>
    public async Task<(string Key, string Id)> CreateKeyAsync(string customer)
    {
        using var admin = _hosts[0].CreateClient(AdminKey);
        using var response = await admin.PostAsJsonAsync("/v1/admin/keys", new { customer, name = "fleet", models = new[] { "demo" } });
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (created.GetProperty("key").GetString()!, created.GetProperty("api_key").GetProperty("id").GetString()!);
    }

    /// <summary>A context on the fleet's one database.</summary>
    public ServerlessDbContext Database() =>
        new(new DbContextOptionsBuilder<ServerlessDbContext>().UseNpgsql(ConnectionString).Options);

    /// <summary>Polls <paramref name="probe"/> until it finds something, or fails after <paramref name="deadline"/> with every host's output.</summary>
    public async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan deadline, string what) where T : class
    {
        ArgumentNullException.ThrowIfNull(probe);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            if (waited.Elapsed > deadline)
            {
                throw new TimeoutException($"Timed out after {deadline} waiting for {what}.\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>What every host printed, for failure messages.</summary>
    public string Output => string.Join("\n", _hosts.Select((h, i) => $"--- host {i}:\n{h.Output}"));

    public virtual async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        if (_database is not null)
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await _database.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
