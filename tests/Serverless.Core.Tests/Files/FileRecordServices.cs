using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Data;
using Serverless.Core.Files;
using Serverless.Core.Tests.Data;

namespace Serverless.Core.Tests.Files;

/// <summary>
/// The Files services, and whatever a test adds, over a real migrated database on the test's clock. Recording a file
/// never touches blob storage, so the blob client points nowhere.
/// </summary>
internal static class FileRecordServices
{
    public static async Task<ServiceProvider> StartAsync(
        TestDatabase database,
        TimeProvider time,
        IReadOnlyDictionary<string, string?> settings,
        Action<IServiceCollection, IConfiguration>? add = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Database:Provider"] = database.Provider,
            ["Database:ConnectionString"] = database.ConnectionString,
        }).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(time)
            .AddSingleton(new BlobServiceClient("UseDevelopmentStorage=true"))
            .AddDatabase(configuration)
            .AddFiles(configuration);
        add?.Invoke(services, configuration);
        var provider = services.BuildServiceProvider();
        await provider.MigrateDatabaseAsync();
        return provider;
    }
}
