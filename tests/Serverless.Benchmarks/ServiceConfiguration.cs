using System.Security.Cryptography;

namespace Serverless.Benchmarks;

/// <summary>
/// The environment every service and admin process of one benchmark gets: fresh secrets, one SQLite file,
/// the demo model configured as a blob model. Each process can get its own model cache folder.
/// </summary>
internal sealed class ServiceConfiguration(string root, string blobConnectionString, string modelId, IReadOnlyDictionary<string, string> extra)
{
    private readonly string _hashSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
    private readonly string _adminKey = "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
    private int _caches;

    /// <summary>The admin key every process of the benchmark shares (GET /metrics, the admin API).</summary>
    public string AdminKey => _adminKey;

    /// <summary>Settings for a process with its own, empty model cache, so its first request loads from blob storage.</summary>
    public IReadOnlyDictionary<string, string> WithFreshCache()
    {
        var settings = new Dictionary<string, string>
        {
            ["Keys__HashSecret"] = _hashSecret,
            ["Admin__Key"] = _adminKey,
            ["Database__ConnectionString"] = $"Data Source={Path.Combine(root, "serverless.db")}",
            ["ModelStorage__BlobConnectionString"] = blobConnectionString,
            ["ModelStorage__CacheDirectory"] = Path.Combine(root, "cache-" + Interlocked.Increment(ref _caches)),
            ["ModelStorage__Models__0__Id"] = modelId,
            // The benchmarks measure the instance, driven by one customer (or a few): no per-customer share, as before it.
            ["Inference__MaxConcurrentPerCustomer"] = "1024",
            ["Inference__MaxQueuedPerCustomer"] = "100000",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }
}
