using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Models;

namespace Serverless.Core.Tests.Models;

public sealed class ModelStorageOptionsTests
{
    [Fact]
    public void Defaults_need_no_configuration()
    {
        var options = Resolve([]);

        Assert.Equal("UseDevelopmentStorage=true", options.BlobConnectionString);
        Assert.Equal("models", options.Container);
        Assert.Equal(4, options.DownloadParallelism);
        Assert.Empty(options.Models);
    }

    [Fact]
    public void AddModelStorage_registers_the_blob_client_uploader_and_cache_as_singletons()
    {
        var configuration = new ConfigurationBuilder().Build();
        using var provider = new ServiceCollection().AddLogging().AddModelStorage(configuration).BuildServiceProvider();

        Assert.Same(provider.GetRequiredService<ModelCache>(), provider.GetRequiredService<ModelCache>());
        Assert.NotNull(provider.GetRequiredService<ModelBlobUploader>());
        Assert.Equal("devstoreaccount1", provider.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>().AccountName);
    }

    [Fact]
    public void Models_bind_from_configuration_as_blob_or_local()
    {
        var options = Resolve(new()
        {
            ["ModelStorage:Container"] = "llm-models",
            ["ModelStorage:Models:0:Id"] = "tiny",
            ["ModelStorage:Models:1:Id"] = "big",
            ["ModelStorage:Models:1:BlobPrefix"] = "phi/v3",
            ["ModelStorage:Models:2:Id"] = "dev",
            ["ModelStorage:Models:2:LocalPath"] = "/models/dev",
        });

        Assert.Equal("llm-models", options.Container);
        Assert.Equal(["tiny", "big", "dev"], options.Models.Select(m => m.Id));
        Assert.Equal("tiny", options.Models[0].ResolvedBlobPrefix);
        Assert.Equal("phi/v3", options.Models[1].ResolvedBlobPrefix);
        Assert.True(options.Models[2].IsLocal);
    }

    [Theory]
    [InlineData("ModelStorage:Container", "Models_With_Capitals")]
    [InlineData("ModelStorage:Container", "a--b")]
    [InlineData("ModelStorage:BlobServiceUri", "not a uri")]
    [InlineData("ModelStorage:CacheDirectory", " ")]
    [InlineData("ModelStorage:DownloadParallelism", "0")]
    [InlineData("ModelStorage:UploadParallelism", "1000")]
    [InlineData("ModelStorage:Models:0:Id", "../up")]
    public void Invalid_settings_fail_validation(string key, string value)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new() { [key] = value }));

        Assert.Contains(key.Split(':')[^1] is "Id" ? "Model id" : key.Split(':')[^1], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_cannot_be_both_local_and_blob_backed_nor_configured_twice()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new()
        {
            ["ModelStorage:Models:0:Id"] = "twice",
            ["ModelStorage:Models:0:LocalPath"] = "/m",
            ["ModelStorage:Models:0:BlobPrefix"] = "m",
            ["ModelStorage:Models:1:Id"] = "TWICE",
        }));

        Assert.Contains("both LocalPath and BlobPrefix", error.Message, StringComparison.Ordinal);
        Assert.Contains("more than once", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tiny-llama", true)]
    [InlineData("phi-3.5_mini", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("org/model", false)]
    [InlineData("..", false)]
    public void Model_ids_are_safe_folder_names(string id, bool valid)
    {
        Assert.Equal(valid, ModelDefinition.IsValidId(id));
    }

    private static ModelStorageOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddModelStorage(configuration).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
    }
}
