using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Serverless.Core.Models;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Models;

public sealed class ModelCacheTests(StrictApiVersionAzuriteFixture azurite)
    : IClassFixture<StrictApiVersionAzuriteFixture>, IDisposable
{
    private readonly ModelStoreHarness _harness = new(azurite);

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task First_request_downloads_every_file_with_identical_bytes_into_a_version_folder()
    {
        var (folder, manifest, model) = await UploadAsync("tiny", seed: 10);

        var local = await _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None);

        ModelStoreHarness.AssertSameTree(folder, local);
        Assert.Equal(Path.Combine(Path.GetFullPath(_harness.CacheDirectory), "tiny", manifest.Version), local);
        Assert.Equal(manifest.ContentHash, File.ReadAllText(Path.Combine(local, ".complete")));
        Assert.Equal([manifest.Version], _harness.CacheEntries("tiny"));
    }

    [Fact]
    public async Task Cached_copy_is_reused_without_reading_the_model_blobs_again()
    {
        var (folder, manifest, model) = await UploadAsync("reuse", seed: 11);
        var first = await _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None);

        // Only the manifest stays; any attempt to download a file would now fail.
        foreach (var file in manifest.Files)
        {
            await _harness.Container.DeleteBlobAsync("reuse/" + file.Name);
        }

        var again = await _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None);

        Assert.Equal(first, again);
        ModelStoreHarness.AssertSameTree(folder, again);
    }

    [Fact]
    public async Task Cached_copy_with_a_truncated_file_is_downloaded_again()
    {
        var (folder, _, model) = await UploadAsync("tampered", seed: 24);
        var cache = _harness.CreateCache();
        var local = await cache.EnsureLocalAsync(model, CancellationToken.None);
        await using (var file = new FileStream(Path.Combine(local, "model.onnx"), FileMode.Open))
        {
            file.SetLength(100);
        }

        var repaired = await cache.EnsureLocalAsync(model, CancellationToken.None);

        Assert.Equal(local, repaired);
        ModelStoreHarness.AssertSameTree(folder, repaired);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Corrupted_blob_is_unavailable_naming_the_file_leaves_nothing_behind_and_a_later_request_succeeds(bool sameSize)
    {
        var (folder, _, model) = await UploadAsync("corrupt", seed: 12);
        var original = await File.ReadAllBytesAsync(Path.Combine(folder, "model.onnx"));
        var damaged = original[..(sameSize ? original.Length : original.Length - 10)];
        damaged[^1] ^= 0xFF;
        await _harness.Container.GetBlobClient("corrupt/model.onnx").UploadAsync(BinaryData.FromBytes(damaged), overwrite: true);
        var logger = new RecordingLogger<ModelCache>();
        var cache = _harness.CreateCache(logger);

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => cache.EnsureLocalAsync(model, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.FileCorrupt, error.Reason);
        Assert.Equal("corrupt", error.ModelId);
        Assert.Equal("model.onnx", error.FileName);
        Assert.Contains("model.onnx", error.Message, StringComparison.Ordinal);
        Assert.Empty(_harness.CacheEntries("corrupt"));
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("model.onnx", StringComparison.Ordinal));

        await _harness.Container.GetBlobClient("corrupt/model.onnx").UploadAsync(BinaryData.FromBytes(original), overwrite: true);
        var local = await cache.EnsureLocalAsync(model, CancellationToken.None);

        ModelStoreHarness.AssertSameTree(folder, local);
        Assert.Equal([Path.GetFileName(local)], _harness.CacheEntries("corrupt"));
    }

    [Fact]
    public async Task Missing_blob_is_unavailable_naming_the_file()
    {
        var (_, _, model) = await UploadAsync("missing-file", seed: 13);
        await _harness.Container.DeleteBlobAsync("missing-file/weights/extra.bin");

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.FileMissing, error.Reason);
        Assert.Equal("weights/extra.bin", error.FileName);
        Assert.Empty(_harness.CacheEntries("missing-file"));
    }

    [Fact]
    public async Task Model_without_a_manifest_is_unavailable()
    {
        var cache = _harness.CreateCache();

        // The container does not even exist yet.
        var neverUploaded = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => cache.EnsureLocalAsync(new ModelDefinition { Id = "ghost" }, CancellationToken.None));

        var (_, _, model) = await UploadAsync("unfinished", seed: 14);
        await _harness.Container.DeleteBlobAsync("unfinished/manifest.json");
        var noManifest = await Assert.ThrowsAsync<ModelUnavailableException>(() => cache.EnsureLocalAsync(model, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.ManifestMissing, neverUploaded.Reason);
        Assert.Equal(ModelUnavailableReason.ManifestMissing, noManifest.Reason);
        Assert.Contains("unfinished/manifest.json", noManifest.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Manifest_naming_a_file_outside_the_model_folder_is_rejected_before_anything_is_written()
    {
        await _harness.Container.CreateIfNotExistsAsync();
        const string Json = """
            {"schemaVersion":1,"modelId":"evil","createdAt":"2026-01-01T00:00:00Z",
             "files":[{"name":"../../escaped.txt","size":1,"sha256":"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"}]}
            """;
        await _harness.Container.GetBlobClient("evil/manifest.json").UploadAsync(BinaryData.FromString(Json));

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => _harness.CreateCache().EnsureLocalAsync(new ModelDefinition { Id = "evil" }, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.ManifestInvalid, error.Reason);
        Assert.False(Directory.Exists(_harness.CacheDirectory) && Directory.EnumerateFileSystemEntries(_harness.CacheDirectory).Any());
    }

    [Fact]
    public async Task Updated_upload_is_downloaded_into_a_new_version_folder()
    {
        var (_, first, model) = await UploadAsync("evolving", seed: 15);
        var cache = _harness.CreateCache();
        var firstLocal = await cache.EnsureLocalAsync(model, CancellationToken.None);

        var updatedFolder = _harness.CreateModelFolder(seed: 16);
        var second = await _harness.CreateUploader().UploadAsync(updatedFolder, model);
        var secondLocal = await cache.EnsureLocalAsync(model, CancellationToken.None);

        Assert.NotEqual(first.Version, second.Version);
        Assert.NotEqual(firstLocal, secondLocal);
        Assert.Equal(second.Version, Path.GetFileName(secondLocal));
        ModelStoreHarness.AssertSameTree(updatedFolder, secondLocal);
        Assert.Equal(new[] { first.Version, second.Version }.Order(StringComparer.Ordinal), _harness.CacheEntries("evolving"));
    }

    [Fact]
    public async Task Twenty_concurrent_requests_on_one_cache_all_get_the_same_verified_folder()
    {
        var (folder, _, model) = await UploadAsync("busy", seed: 17);
        var cache = _harness.CreateCache();

        var paths = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => cache.EnsureLocalAsync(model, CancellationToken.None))));

        Assert.Single(paths.Distinct());
        ModelStoreHarness.AssertSameTree(folder, paths[0]);
        Assert.Equal([Path.GetFileName(paths[0])], _harness.CacheEntries("busy"));
    }

    [Fact]
    public async Task Caches_sharing_a_directory_that_race_to_publish_all_get_a_complete_folder()
    {
        // Separate ModelCache instances do not share a lock, like two processes on one cache directory.
        var (folder, _, model) = await UploadAsync("shared", seed: 18);

        var paths = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None))));

        Assert.Single(paths.Distinct());
        ModelStoreHarness.AssertSameTree(folder, paths[0]);
        Assert.Equal([Path.GetFileName(paths[0])], _harness.CacheEntries("shared"));
    }

    [Fact]
    public async Task Cached_copy_is_served_when_blob_storage_is_unreachable_and_nothing_is_served_without_one()
    {
        var (folder, _, model) = await UploadAsync("offline", seed: 19);
        var cached = await _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None);
        var unreachable = BlobServiceClientFactory.Create(
            $"DefaultEndpointsProtocol=http;AccountName={AzuriteFixture.AccountName};AccountKey={AzuriteFixture.AccountKey};BlobEndpoint=http://127.0.0.1:{ClosedPort()}/{AzuriteFixture.AccountName};",
            options => options.Retry.MaxRetries = 0);
        var offlineCache = _harness.CreateCache(blobs: unreachable);

        var served = await offlineCache.EnsureLocalAsync(model, CancellationToken.None);
        var error = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => offlineCache.EnsureLocalAsync(new ModelDefinition { Id = "never-cached" }, CancellationToken.None));

        Assert.Equal(cached, served);
        ModelStoreHarness.AssertSameTree(folder, served);
        Assert.Equal(ModelUnavailableReason.StorageError, error.Reason);
    }

    [Fact]
    public async Task Download_removes_temp_folders_left_by_dead_processes_but_not_by_live_ones()
    {
        var (_, manifest, model) = await UploadAsync("leftovers", seed: 20);
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await exited.WaitForExitAsync();
        var deadOwner = Path.Combine(_harness.ModelCacheDirectory("leftovers"), $".tmp-{exited.Id}-{Guid.NewGuid():N}");
        var liveOwner = Path.Combine(_harness.ModelCacheDirectory("leftovers"), $".tmp-1-{Guid.NewGuid():N}");
        Directory.CreateDirectory(deadOwner);
        Directory.CreateDirectory(liveOwner);
        await File.WriteAllTextAsync(Path.Combine(deadOwner, "model.onnx"), "half written");

        await _harness.CreateCache().EnsureLocalAsync(model, CancellationToken.None);

        Assert.Equal(new[] { manifest.Version, Path.GetFileName(liveOwner) }.Order(StringComparer.Ordinal), _harness.CacheEntries("leftovers"));
    }

    [Fact]
    public async Task Cancelled_download_leaves_no_folder_behind()
    {
        var (_, _, model) = await UploadAsync("impatient", seed: 21);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<ModelTransferProgress>(r =>
        {
            if (r.BytesTransferred > 0)
            {
                cancel.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _harness.CreateCache().EnsureLocalAsync(model, progress, cancel.Token));

        Assert.Empty(_harness.CacheEntries("impatient"));
    }

    [Fact]
    public async Task Local_folder_model_is_served_in_place()
    {
        var folder = _harness.CreateModelFolder(seed: 22);

        var local = await _harness.CreateCache().EnsureLocalAsync(new ModelDefinition { Id = "dev", LocalPath = folder }, CancellationToken.None);

        Assert.Equal(Path.GetFullPath(folder), local);
        Assert.False(Directory.Exists(_harness.CacheDirectory));
    }

    [Fact]
    public async Task Local_folder_without_genai_config_is_unavailable()
    {
        var folder = _harness.CreateModelFolder(seed: 23);
        File.Delete(Path.Combine(folder, "genai_config.json"));
        var cache = _harness.CreateCache();

        var notAModel = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => cache.EnsureLocalAsync(new ModelDefinition { Id = "dev", LocalPath = folder }, CancellationToken.None));
        var missing = await Assert.ThrowsAsync<ModelUnavailableException>(
            () => cache.EnsureLocalAsync(new ModelDefinition { Id = "dev", LocalPath = folder + "-nope" }, CancellationToken.None));

        Assert.Equal(ModelUnavailableReason.LocalFolderInvalid, notAModel.Reason);
        Assert.Contains("genai_config.json", notAModel.Message, StringComparison.Ordinal);
        Assert.Equal(ModelUnavailableReason.LocalFolderInvalid, missing.Reason);
    }

    private async Task<(string Folder, ModelManifest Manifest, ModelDefinition Model)> UploadAsync(string id, int seed)
    {
        var folder = _harness.CreateModelFolder(seed);
        var model = new ModelDefinition { Id = id };
        var manifest = await _harness.CreateUploader().UploadAsync(folder, model);
        return (folder, manifest, model);
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
