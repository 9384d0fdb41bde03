using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Models.Demo;

namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// The local host on a real Kestrel port, with its own Azurite, SQLite file and model cache, and the demo
/// model uploaded to blob storage under several ids: "demo" (shared, warm after first use), "cold-*" (one
/// test each, to observe first loads), "broken" (corrupted by its test) and "local-demo" (a local folder).
/// </summary>
public class ServiceFixture : IAsyncLifetime
{
    public static readonly string[] ColdModels = ["cold-single-flight", "cold-reuse"];

    // Prices every model gets: $0.25 / $1.00 per million input / output tokens, 50% off in batches.
    public const long InputPrice = 250_000;
    public const long OutputPrice = 1_000_000;
    public const long BatchDiscount = 5_000;

    private readonly AzuriteFixture _azurite = new();
    private ServiceFactory? _factory;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "svl-it-" + Guid.NewGuid().ToString("N"));

    public string DemoFolder => Path.Combine(Root, "demo-model");

    public string AdminKey { get; } = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public string ApiKey { get; private set; } = string.Empty;

    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _factory!.Services;

    public AzuriteFixture Azurite => _azurite;

    /// <summary>"Sqlite" or "Postgres": the ledger and key store the host runs on.</summary>
    public virtual string Provider => DatabaseOptions.SqliteProvider;

    /// <summary>The host's database connection string; a SQLite file in the fixture's folder by default.</summary>
    protected virtual Task<string> CreateDatabaseAsync() => Task.FromResult($"Data Source={Path.Combine(Root, "serverless.db")}");

    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    /// <summary>Adds or overrides host settings before the host starts (Stripe, batch options, ...).</summary>
    protected virtual Task ConfigureAsync(IDictionary<string, string?> settings) => Task.CompletedTask;

    public string DatabaseConnectionString { get; private set; } = string.Empty;

    /// <summary>The host's configuration (for running the admin CLI against the same secret and database).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    /// <summary>Adjusts the host's settings before it starts (a fixture with other limits overrides this).</summary>
    protected virtual void Configure(IDictionary<string, string?> settings)
    {
    }

    /// <summary>Adds to the host's services after its own (a fixture that observes the host, e.g. its telemetry, overrides this).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        Directory.CreateDirectory(Root);
        DemoModelWriter.Write(DemoFolder);
        DatabaseConnectionString = await CreateDatabaseAsync();

        var settings = new Dictionary<string, string?>
        {
            ["Keys:HashSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)),
            ["Admin:Key"] = AdminKey,
            ["Database:Provider"] = Provider,
            ["Database:ConnectionString"] = DatabaseConnectionString,
            ["ModelStorage:BlobConnectionString"] = _azurite.ConnectionString,
            ["ModelStorage:CacheDirectory"] = Path.Combine(Root, "cache"),
            ["Database:BusyTimeout"] = "00:00:01",
            // Batches: the Durable Task hub on this Azurite, quick to notice work and to take over a dead run's messages.
            ["AzureWebJobsStorage"] = _azurite.ConnectionString,
            ["LocalDurableTask:ControlQueueVisibilityTimeout"] = "00:00:05",
            ["LocalDurableTask:WorkItemQueueVisibilityTimeout"] = "00:00:10",
            ["LocalDurableTask:MaxQueuePollingInterval"] = "00:00:00.200",
            ["Batch:ChunkSize"] = "4",
            ["Batch:ProgressInterval"] = "00:00:00.100",
            // Some tests send 50 requests at once from one key (single-flight loads, budget races): all of them must
            // wait for a slot rather than meet the customer's default quarter of the queue (the fair-share tests use their own host).
            ["Inference:MaxQueuedPerCustomer"] = "64",
        };
        Configure(settings);
        string[] blobModels = ["demo", .. ColdModels, "broken"];
        int index = 0;
        foreach (var id in blobModels)
        {
            settings[$"ModelStorage:Models:{index++}:Id"] = id;
        }

        settings[$"ModelStorage:Models:{index}:Id"] = "local-demo";
        settings[$"ModelStorage:Models:{index}:LocalPath"] = DemoFolder;

        await ConfigureAsync(settings);
        Settings = settings;
        _factory = new ServiceFactory(settings, ConfigureServices);
        _factory.UseKestrel(0);
        _factory.StartServer();
        BaseAddress = _factory.ClientOptions.BaseAddress;

        var uploader = Services.GetRequiredService<ModelBlobUploader>();
        foreach (var id in blobModels)
        {
            await uploader.UploadAsync(DemoFolder, id);
        }

        ApiKey = (await Services.GetRequiredService<ApiKeyService>().CreateAsync("acme", "tests", null, null, CancellationToken.None)).Key;
        foreach (var id in blobModels.Append("local-demo"))
        {
            await Services.GetRequiredService<PriceBook>().SetAsync(id, InputPrice, OutputPrice, BatchDiscount, DateTimeOffset.UnixEpoch, CancellationToken.None);
        }
    }

    public virtual async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        await DropDatabaseAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>An HTTP client for the real port, authenticated with <paramref name="key"/> (the test key by default).</summary>
    public HttpClient CreateClient(string? key = null, HttpMessageHandler? handler = null)
    {
        var client = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: true) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key ?? ApiKey);
        return client;
    }

    /// <summary>A fresh database context on the service's own database.</summary>
    public ServerlessDbContext Database() => Services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContext();

    public Task<CreatedApiKey> CreateKeyAsync(string customer, IReadOnlyList<string>? models = null) =>
        Services.GetRequiredService<ApiKeyService>().CreateAsync(customer, "test", models, null, CancellationToken.None);

    private sealed class ServiceFactory(Dictionary<string, string?> settings, Action<IServiceCollection> services) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureServices(services);
        }
    }
}

/// <summary>The same host on a private PostgreSQL database (the multi-instance deployment's ledger).</summary>
public sealed class PostgresServiceFixture : ServiceFixture
{
    private Serverless.Testing.PostgresDatabase? _database;

    public override string Provider => DatabaseOptions.PostgresProvider;

    protected override async Task<string> CreateDatabaseAsync()
    {
        var server = await Serverless.Testing.PostgresServer.GetAsync();
        _database = await server.CreateDatabaseAsync();
        return _database.ConnectionString;
    }

    protected override async Task DropDatabaseAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>The same host with metering switched off (Metering:Enabled=false, the benchmark switch).</summary>
public sealed class UnmeteredServiceFixture : ServiceFixture
{
    protected override Task ConfigureAsync(IDictionary<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings["Metering:Enabled"] = "false";
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class ServiceTestGroup : ICollectionFixture<ServiceFixture>
{
    public const string Name = "service";
}

[CollectionDefinition(Name)]
public sealed class PostgresServiceTestGroup : ICollectionFixture<PostgresServiceFixture>
{
    public const string Name = "service-postgres";
}

[CollectionDefinition(Name)]
public sealed class UnmeteredServiceTestGroup : ICollectionFixture<UnmeteredServiceFixture>
{
    public const string Name = "service-unmetered";
}
