using Azure.Core;
using Azure.Identity;
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

    /// <summary>The client <paramref name="options"/> describe: by token when BlobServiceUri is set, otherwise by connection string.</summary>
    public static BlobServiceClient Create(ModelStorageOptions options, Action<BlobClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.UsesIdentity)
        {
            return Create(new Uri(options.BlobServiceUri!, UriKind.Absolute), CreateCredential(options.ManagedIdentityClientId), configure);
        }

        return Create(
            string.IsNullOrWhiteSpace(options.BlobConnectionString) ? ModelStorageOptions.DevelopmentStorageConnectionString : options.BlobConnectionString,
            configure);
    }

    /// <summary>A client authenticated by connection string (Azurite, or an account key), pinned to <see cref="PinnedServiceVersion"/>.</summary>
    public static BlobServiceClient Create(string connectionString, Action<BlobClientOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var options = new BlobClientOptions(PinnedServiceVersion);
        configure?.Invoke(options);
        return new BlobServiceClient(connectionString, options);
    }

    /// <summary>
    /// A client authenticated with a Microsoft Entra token. Only Azure is reached this way (Azurite is reached by
    /// connection string), and Azure accepts the SDK's newest service version, so nothing is pinned here.
    /// </summary>
    public static BlobServiceClient Create(Uri serviceUri, TokenCredential credential, Action<BlobClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(serviceUri);
        ArgumentNullException.ThrowIfNull(credential);
        var options = new BlobClientOptions();
        configure?.Invoke(options);
        return new BlobServiceClient(serviceUri, credential, options);
    }

    /// <summary>
    /// The default credential chain with the given user-assigned identity: the managed identity when running in
    /// Azure, the Azure CLI / developer tools login on a workstation (so <c>models upload</c> works with the same setting).
    /// </summary>
    public static TokenCredential CreateCredential(string? managedIdentityClientId) =>
        new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = string.IsNullOrWhiteSpace(managedIdentityClientId) ? null : managedIdentityClientId,
        });
}
