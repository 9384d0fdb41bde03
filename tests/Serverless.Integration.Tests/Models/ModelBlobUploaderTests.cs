using System.Collections.Concurrent;
using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Serverless.Core.Models;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Models;

public sealed class ModelBlobUploaderTests(StrictApiVersionAzuriteFixture azurite)
    : IClassFixture<StrictApiVersionAzuriteFixture>, IDisposable
{
    private readonly ModelStoreHarness _harness = new(azurite);

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Upload_creates_the_container_and_writes_every_file_plus_a_manifest_with_names_sizes_and_sha256()
    {
        var folder = _harness.CreateModelFolder(seed: 1);

        var manifest = await _harness.CreateUploader().UploadAsync(folder, "tiny-llama");

        var expected = ModelStoreHarness.ReadTree(folder);
        Assert.Equal("tiny-llama", manifest.ModelId);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), manifest.Files.Select(f => f.Name));
        foreach (var file in manifest.Files)
        {
            Assert.Equal(expected[file.Name].LongLength, file.Size);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected[file.Name])), file.Sha256);
        }

        Assert.Equal(expected.Values.Sum(b => b.LongLength), manifest.TotalSize);
        var blobNames = new List<string>();
        await foreach (var blob in _harness.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = "tiny-llama/" }))
        {
            blobNames.Add(blob.Name);
        }

        Assert.Equal(
            expected.Keys.Select(n => "tiny-llama/" + n).Append("tiny-llama/manifest.json").Order(StringComparer.Ordinal),
            blobNames.Order(StringComparer.Ordinal));
        var stored = (await _harness.Container.GetBlobClient("tiny-llama/manifest.json").DownloadContentAsync()).Value.Content.ToString();
        Assert.Equal(manifest.ContentHash, ModelManifest.Parse(stored).ContentHash);
    }

    [Fact]
    public async Task Uploading_identical_content_again_keeps_the_same_version()
    {
        var folder = _harness.CreateModelFolder(seed: 2);
        var uploader = _harness.CreateUploader();

        var first = await uploader.UploadAsync(folder, "same");
        var second = await uploader.UploadAsync(folder, "same");

        Assert.Equal(first.ContentHash, second.ContentHash);
    }

    [Fact]
    public async Task Upload_reports_progress_for_every_file_up_to_the_total()
    {
        var folder = _harness.CreateModelFolder(seed: 3);
        var reports = new ConcurrentQueue<ModelTransferProgress>();

        var manifest = await _harness.CreateUploader().UploadAsync(folder, "progress", new SynchronousProgress<ModelTransferProgress>(reports.Enqueue));

        Assert.All(reports, r => Assert.Equal(manifest.TotalSize, r.TotalBytes));
        Assert.Equal(manifest.TotalSize, reports.Max(r => r.BytesTransferred));
        Assert.Equal(manifest.Files.Count, reports.Max(r => r.FilesCompleted));
        foreach (var file in manifest.Files)
        {
            Assert.Contains(reports, r => r.FileName == file.Name && r.IsFileComplete && r.FileBytesTransferred == file.Size);
        }

        // The large file reports while it is under way, not only at its end.
        Assert.Contains(reports, r => r.FileName == "model.onnx" && r.FileBytesTransferred > 0 && !r.IsFileComplete);
    }

    [Fact]
    public async Task Upload_rejects_a_folder_that_is_not_a_genai_model_folder()
    {
        var folder = _harness.CreateModelFolder(seed: 4);
        File.Delete(Path.Combine(folder, "genai_config.json"));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _harness.CreateUploader().UploadAsync(folder, "not-a-model"));

        Assert.Contains("genai_config.json", error.Message, StringComparison.Ordinal);
        Assert.False(await _harness.Container.ExistsAsync());
    }

    [Fact]
    public async Task Cancelled_upload_leaves_no_manifest_so_the_model_stays_invisible()
    {
        var folder = _harness.CreateModelFolder(seed: 5);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<ModelTransferProgress>(r =>
        {
            if (r.BytesTransferred > 0)
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _harness.CreateUploader().UploadAsync(folder, "half", progress, cancel.Token));

        Assert.False(await _harness.Container.GetBlobClient("half/manifest.json").ExistsAsync());
        var error = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => _harness.CreateCache().EnsureLocalAsync(new ModelDefinition { Id = "half" }, CancellationToken.None));
        Assert.Equal(ModelUnavailableReason.ManifestMissing, error.Reason);
    }

    [Fact]
    public async Task A_model_with_its_own_blob_prefix_is_uploaded_and_found_under_that_prefix()
    {
        var folder = _harness.CreateModelFolder(seed: 6);
        var model = new ModelDefinition { Id = "assistant", BlobPrefix = "team/llama-v2/" };

        await _harness.CreateUploader().UploadAsync(folder, model);

        Assert.True(await _harness.Container.GetBlobClient("team/llama-v2/manifest.json").ExistsAsync());
        var local = await _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None);
        ModelStoreHarness.AssertSameTree(folder, local);
    }

    [Fact]
    public async Task Upload_refuses_local_folder_models_and_invalid_ids()
    {
        var folder = _harness.CreateModelFolder(seed: 7);
        var uploader = _harness.CreateUploader();

        await Assert.ThrowsAsync<ArgumentException>(() => uploader.UploadAsync(folder, "../escape"));
        await Assert.ThrowsAsync<ArgumentException>(() => uploader.UploadAsync(folder, new ModelDefinition { Id = "local", LocalPath = folder }));
    }
}
