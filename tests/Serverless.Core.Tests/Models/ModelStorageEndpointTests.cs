using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Models;

namespace Serverless.Core.Tests.Models;

/// <summary>How the app reaches blob storage: a connection string (Azurite, local) or a service URI with a managed identity (Azure).</summary>
public sealed class ModelStorageEndpointTests
{
    private const string ServiceUri = "https://stserverlessdev.blob.core.windows.net";
    private const string ClientId = "6a1e8f3c-2b7d-4c59-9e0a-3f5d7b2c1a84";
    private const string AzuriteConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    [Fact]
    public void Without_either_setting_the_development_storage_connection_string_applies()
    {
        var options = Resolve([]);

        Assert.Equal(ModelStorageOptions.DevelopmentStorageConnectionString, options.BlobConnectionString);
        Assert.False(options.UsesIdentity);
    }

    [Fact]
    public void Blank_settings_count_as_unset_so_the_sample_settings_file_works_as_it_is()
    {
        var options = Resolve(new()
        {
            ["ModelStorage:BlobConnectionString"] = "",
            ["ModelStorage:BlobServiceUri"] = " ",
            ["ModelStorage:ManagedIdentityClientId"] = "",
        });

        Assert.Equal(ModelStorageOptions.DevelopmentStorageConnectionString, options.BlobConnectionString);
    }

    [Fact]
    public void A_service_uri_alone_selects_the_identity_and_leaves_the_connection_string_unset()
    {
        var options = Resolve(new()
        {
            ["ModelStorage:BlobServiceUri"] = ServiceUri,
            ["ModelStorage:ManagedIdentityClientId"] = ClientId,
        });

        Assert.True(options.UsesIdentity);
        Assert.Null(options.BlobConnectionString);
        Assert.Equal(ClientId, options.ManagedIdentityClientId);
    }

    [Fact]
    public void A_service_uri_without_a_client_id_is_valid_for_a_system_identity_or_a_workstation_login()
    {
        var options = Resolve(new() { ["ModelStorage:BlobServiceUri"] = ServiceUri });

        Assert.True(options.UsesIdentity);
    }

    [Fact]
    public void Setting_both_a_connection_string_and_a_service_uri_fails_at_start()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new()
        {
            ["ModelStorage:BlobConnectionString"] = AzuriteConnectionString,
            ["ModelStorage:BlobServiceUri"] = ServiceUri,
        }));

        Assert.Contains("not both", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stserverlessdev.blob.core.windows.net")]
    [InlineData("http://stserverlessdev.blob.core.windows.net")]
    [InlineData("https://stserverlessdev.blob.core.windows.net/?sv=2025-11-05&sig=abc")]
    public void A_service_uri_must_be_absolute_https_without_a_sas_query(string uri)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new() { ["ModelStorage:BlobServiceUri"] = uri }));

        Assert.Contains("ModelStorage:BlobServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_id_must_be_a_guid()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new()
        {
            ["ModelStorage:BlobServiceUri"] = ServiceUri,
            ["ModelStorage:ManagedIdentityClientId"] = "id-serverless-dev",
        }));

        Assert.Contains("ModelStorage:ManagedIdentityClientId must be the client id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_id_next_to_a_connection_string_fails_because_the_identity_would_be_ignored()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new()
        {
            ["ModelStorage:BlobConnectionString"] = AzuriteConnectionString,
            ["ModelStorage:ManagedIdentityClientId"] = ClientId,
        }));

        Assert.Contains("only used with ModelStorage:BlobServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_registered_client_targets_the_service_uri_when_an_identity_is_configured()
    {
        var client = ResolveClient(new()
        {
            ["ModelStorage:BlobServiceUri"] = ServiceUri,
            ["ModelStorage:ManagedIdentityClientId"] = ClientId,
        });

        Assert.Equal(new Uri(ServiceUri + "/"), client.Uri);
        Assert.Equal("stserverlessdev", client.AccountName);
        // Shared-key signing is impossible without an account key: the client can only authenticate by token.
        Assert.False(client.CanGenerateAccountSasUri);
    }

    [Fact]
    public void The_registered_client_uses_the_connection_string_when_one_is_configured()
    {
        var client = ResolveClient(new() { ["ModelStorage:BlobConnectionString"] = AzuriteConnectionString });

        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), client.Uri);
        Assert.True(client.CanGenerateAccountSasUri);
    }

    [Fact]
    public void The_factory_builds_the_same_client_from_options_outside_dependency_injection()
    {
        var client = BlobServiceClientFactory.Create(new ModelStorageOptions { BlobServiceUri = ServiceUri });

        Assert.Equal("stserverlessdev", client.AccountName);
        Assert.Equal("devstoreaccount1", BlobServiceClientFactory.Create(new ModelStorageOptions()).AccountName);
    }

    private static ModelStorageOptions Resolve(Dictionary<string, string?> settings)
    {
        using var provider = Build(settings);
        return provider.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
    }

    private static BlobServiceClient ResolveClient(Dictionary<string, string?> settings)
    {
        using var provider = Build(settings);
        return provider.GetRequiredService<BlobServiceClient>();
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddModelStorage(configuration).BuildServiceProvider();
    }
}
