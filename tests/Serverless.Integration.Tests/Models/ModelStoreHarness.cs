using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Core.Models;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Models;

/// <summary>One test's private container, cache directory and synthetic model folders.</summary>
internal sealed class ModelStoreHarness : IDisposable
{
    public const int LargeFileSize = (9 * 1024 * 1024) + 7; // three upload blocks, the last one partial

    private readonly string _root = Path.Combine(Path.GetTempPath(), "model-store-tests", Guid.NewGuid().ToString("N"));

    public ModelStoreHarness(AzuriteFixture azurite)
    {
        Directory.CreateDirectory(_root);
        Options = new ModelStorageOptions
        {
            BlobConnectionString = azurite.ConnectionString,
            Container = "models-" + Guid.NewGuid().ToString("N")[..20],
            CacheDirectory = Path.Combine(_root, "cache"),
        };
        Blobs = azurite.CreateBlobServiceClient();
    }

    public ModelStorageOptions Options { get; }

    public BlobServiceClient Blobs { get; }

    public BlobContainerClient Container => Blobs.GetBlobContainerClient(Options.Container);

    public string CacheDirectory => Options.CacheDirectory;

    public string ModelCacheDirectory(string modelId) => Path.Combine(CacheDirectory, modelId);

    public ModelBlobUploader CreateUploader() =>
        new(Blobs, Microsoft.Extensions.Options.Options.Create(Options), TimeProvider.System, NullLogger<ModelBlobUploader>.Instance);

    public ModelCache CreateCache(ILogger<ModelCache>? logger = null, BlobServiceClient? blobs = null) =>
        new(blobs ?? Blobs, Microsoft.Extensions.Options.Options.Create(Options), logger ?? NullLogger<ModelCache>.Instance);

    /// <summary>A folder shaped like a GenAI model (random bytes, not a loadable one), different for each seed.</summary>
    public string CreateModelFolder(int seed)
    {
        var folder = Path.Combine(_root, $"source-{seed}-{Guid.NewGuid():N}");
        var random = new Random(seed);
        Write(folder, "genai_config.json", System.Text.Encoding.UTF8.GetBytes($$$"""{"model":{"type":"llama","seed":{{{seed}}}}}"""));
        Write(folder, "tokenizer.json", RandomBytes(random, 20_000));
        Write(folder, "tokenizer_config.json", "{}"u8.ToArray());
        Write(folder, "model.onnx", RandomBytes(random, LargeFileSize));
        Write(folder, "weights/extra.bin", RandomBytes(random, 1000));
        Write(folder, "empty.txt", []);
        return folder;
    }

    /// <summary>Every file below <paramref name="folder"/> by '/'-separated relative name.</summary>
    public static Dictionary<string, byte[]> ReadTree(string folder, bool includeCacheBookkeeping = false) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => (Name: Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/'), Path: path))
            .Where(f => includeCacheBookkeeping || !f.Name.StartsWith('.'))
            .ToDictionary(f => f.Name, f => File.ReadAllBytes(f.Path), StringComparer.Ordinal);

    public static void AssertSameTree(string expectedFolder, string actualFolder)
    {
        var expected = ReadTree(expectedFolder);
        var actual = ReadTree(actualFolder);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in expected)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"{name} differs");
        }
    }

    /// <summary>Folders under the model's cache folder, e.g. versions and leftover temp folders.</summary>
    public string[] CacheEntries(string modelId) =>
        Directory.Exists(ModelCacheDirectory(modelId))
            ? [.. Directory.EnumerateDirectories(ModelCacheDirectory(modelId)).Select(Path.GetFileName).Order(StringComparer.Ordinal)!]
            : [];

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp folder is cleaned by the OS eventually.
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void Write(string folder, string name, byte[] content)
    {
        var path = Path.Combine(folder, name.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }
}
