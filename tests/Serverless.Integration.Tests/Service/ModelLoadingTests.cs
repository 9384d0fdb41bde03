using System.Net;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Inference;
using Serverless.Core.Models;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

[Collection(ServiceTestGroup.Name)]
public sealed class ModelLoadingTests(ServiceFixture service)
{
    private static string Chat(string model) =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hello"}],"max_tokens":2,"temperature":0}""";

    private async Task<JsonElement> StatusOf(string model)
    {
        using var admin = service.CreateClient(service.AdminKey);
        var list = await (await admin.GetAsync("/v1/admin/models")).ReadJsonAsync();
        return list.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == model);
    }

    [Fact]
    public async Task First_request_downloads_verifies_and_loads_the_model_and_the_second_reuses_it()
    {
        const string model = "cold-reuse";
        Assert.Equal("not_loaded", (await StatusOf(model)).GetProperty("state").GetString());
        using var client = service.CreateClient();

        using var first = await client.PostJsonAsync("/v1/chat/completions", Chat(model));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(first.Headers.TryGetValues(HttpCompletionSink.ModelLoadHeader, out var loadMs));
        Assert.True(long.Parse(loadMs.Single(), System.Globalization.CultureInfo.InvariantCulture) >= 0);

        var status = await StatusOf(model);
        Assert.Equal("ready", status.GetProperty("state").GetString());
        Assert.Equal(1, status.GetProperty("downloads").GetInt32());
        Assert.Equal(1, status.GetProperty("loads").GetInt32());

        // The cache holds one published version folder whose files match the uploaded ones byte for byte.
        var cacheRoot = service.Services.GetRequiredService<IOptions<ModelStorageOptions>>().Value.CacheDirectory;
        var version = Assert.Single(Directory.GetDirectories(Path.Combine(cacheRoot, model)));
        foreach (var file in Directory.GetFiles(service.DemoFolder))
        {
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(version, Path.GetFileName(file))));
        }

        using var second = await client.PostJsonAsync("/v1/chat/completions", Chat(model));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.False(second.Headers.Contains(HttpCompletionSink.ModelLoadHeader));
        status = await StatusOf(model);
        Assert.Equal(1, status.GetProperty("downloads").GetInt32());
        Assert.Equal(1, status.GetProperty("loads").GetInt32());
    }

    [Fact]
    public async Task Fifty_concurrent_first_requests_cause_one_download_and_one_load()
    {
        const string model = "cold-single-flight";
        using var client = service.CreateClient();
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.PostJsonAsync("/v1/chat/completions", Chat(model))));
        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Single(responses, r => r.Headers.Contains(HttpCompletionSink.ModelLoadHeader));
            var status = await StatusOf(model);
            Assert.Equal(1, status.GetProperty("downloads").GetInt32());
            Assert.Equal(1, status.GetProperty("loads").GetInt32());
            Assert.Equal(0, status.GetProperty("failures").GetInt32());
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Corrupt_blob_gives_503_for_that_model_while_others_work_and_a_later_request_retries()
    {
        const string model = "broken";
        var storage = service.Services.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
        var blob = service.Services.GetRequiredService<BlobServiceClient>()
            .GetBlobContainerClient(storage.Container).GetBlobClient($"{model}/model.onnx");
        var original = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        var corrupt = (byte[])original.Clone();
        corrupt[corrupt.Length / 2] ^= 0xFF;
        await blob.UploadAsync(new BinaryData(corrupt), overwrite: true);

        using var client = service.CreateClient();
        using (var failed = await client.PostJsonAsync("/v1/chat/completions", Chat(model)))
        {
            var error = await failed.ReadErrorAsync(503);
            Assert.Equal("model_unavailable", error.GetProperty("code").GetString());
            Assert.True(failed.Headers.Contains("Retry-After"));
        }

        var status = await StatusOf(model);
        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Contains("model.onnx", status.GetProperty("last_error").GetString(), StringComparison.Ordinal);

        using (var other = await client.PostJsonAsync("/v1/chat/completions", Chat("demo")))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        await blob.UploadAsync(new BinaryData(original), overwrite: true);
        using var retried = await client.PostJsonAsync("/v1/chat/completions", Chat(model));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.True(retried.Headers.Contains(HttpCompletionSink.ModelLoadHeader));
    }

    [Fact]
    public async Task A_model_in_a_local_folder_is_served_without_blob_storage()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/chat/completions", Chat("local-demo"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, (await StatusOf("local-demo")).GetProperty("downloads").GetInt32());
    }
}
