using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Keys;

/// <summary>
/// One service instance as the host wires it (AddDatabase + AddApiKeys, validated, migrated) over a real
/// SQLite file or PostgreSQL database, with a controllable clock and a record of database activity.
/// </summary>
internal sealed class KeyServices : IAsyncDisposable
{
    public const string DefaultSecret = "test-hash-secret-0123456789-abcdefghijklmnop";

    private readonly ServiceProvider _provider;

    private KeyServices(ServiceProvider provider, DatabaseActivity activity)
    {
        _provider = provider;
        Activity = activity;
    }

    public DatabaseActivity Activity { get; }

    public ApiKeyService Keys => _provider.GetRequiredService<ApiKeyService>();

    public IServiceProvider Services => _provider;

    public static Task<KeyServices> StartAsync(
        TestDatabase database,
        TimeProvider time,
        string hashSecret = DefaultSecret,
        TimeSpan? cacheTtl = null,
        string? adminKey = null,
        bool migrate = true) =>
        StartAsync(database.Provider, database.ConnectionString, time, hashSecret, cacheTtl, adminKey, migrate);

    public static async Task<KeyServices> StartAsync(
        string databaseProvider,
        string connectionString,
        TimeProvider time,
        string hashSecret = DefaultSecret,
        TimeSpan? cacheTtl = null,
        string? adminKey = null,
        bool migrate = true)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = databaseProvider,
            ["Database:ConnectionString"] = connectionString,
            ["Keys:HashSecret"] = hashSecret,
            ["Keys:CacheTtl"] = (cacheTtl ?? TimeSpan.FromSeconds(10)).ToString("c"),
            ["Admin:Key"] = adminKey,
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var activity = new DatabaseActivity();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(time)
            .AddSingleton<IInterceptor>(activity)
            .AddDatabase(configuration)
            .AddApiKeys(configuration);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        provider.GetRequiredService<IStartupValidator>().Validate();
        if (migrate)
        {
            await provider.MigrateDatabaseAsync();
        }

        return new KeyServices(provider, activity);
    }

    public static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero));

    public ServerlessDbContext CreateDbContext() =>
        _provider.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContext();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
