using Azure.Storage.Blobs;

namespace Serverless.Core.Models;

public static class BlobServiceClientFactory
{
    /// <summary>
    /// The newest service version Azurite 3.35 (the last release that runs on Node 20) accepts. The SDK's
    /// default (2026-10-06 in 12.30.1) is rejected by it with 400 InvalidHeaderValue unless Azurite runs with
    /// --skipApiVersionCheck; pinning keeps local runs working either way, and Azure accepts it too.
    /// </summary>
    public const BlobClientOptions.ServiceVersion PinnedServiceVersion = BlobClientOptions.ServiceVersion.V2025_11_05;

    public static BlobServiceClient Create(string connectionString, Action<BlobClientOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new BlobClientOptions(PinnedServiceVersion);
        configure?.Invoke(options);
        return new BlobServiceClient(connectionString, options);
    }
}
