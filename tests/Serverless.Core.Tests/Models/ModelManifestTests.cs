using Serverless.Core.Models;

namespace Serverless.Core.Tests.Models;

public sealed class ModelManifestTests
{
    private const string HashA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
    private const string HashB = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";

    [Fact]
    public void Json_round_trip_keeps_files_and_content_hash()
    {
        var manifest = new ModelManifest("m", [new("model.onnx", 10, HashA), new("sub/b.bin", 0, HashB)], DateTimeOffset.UnixEpoch);

        var parsed = ModelManifest.Parse(manifest.ToJson());

        Assert.Equal("m", parsed.ModelId);
        Assert.Equal(manifest.Files, parsed.Files);
        Assert.Equal(DateTimeOffset.UnixEpoch, parsed.CreatedAt);
        Assert.Equal(manifest.ContentHash, parsed.ContentHash);
        Assert.Equal(10, parsed.TotalSize);
    }

    [Fact]
    public void Content_hash_depends_on_content_only_not_on_order_time_or_id()
    {
        var one = new ModelManifest("a", [new("x", 1, HashA), new("y", 2, HashB)], DateTimeOffset.UnixEpoch);
        var sameContent = new ModelManifest("b", [new("y", 2, HashB), new("x", 1, HashA)], DateTimeOffset.UtcNow);
        var otherContent = new ModelManifest("a", [new("x", 1, HashB), new("y", 2, HashB)], DateTimeOffset.UnixEpoch);

        Assert.Equal(one.ContentHash, sameContent.ContentHash);
        Assert.NotEqual(one.ContentHash, otherContent.ContentHash);
        Assert.Equal(64, one.ContentHash.Length);
        Assert.Equal(one.ContentHash[..16], one.Version);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("/absolute")]
    [InlineData("a//b")]
    [InlineData("a\\b")]
    [InlineData("c:x")]
    [InlineData("")]
    [InlineData(".complete")]
    public void Unsafe_or_reserved_file_names_are_rejected(string name)
    {
        Assert.Throws<ArgumentException>(() => new ModelManifest("m", [new(name, 1, HashA)], DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void Duplicate_names_bad_hashes_and_negative_sizes_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ModelManifest("m", [new("a", 1, HashA), new("A", 1, HashA)], DateTimeOffset.UnixEpoch));
        Assert.Throws<ArgumentException>(() => new ModelManifest("m", [new("a", 1, HashA.ToUpperInvariant())], DateTimeOffset.UnixEpoch));
        Assert.Throws<ArgumentException>(() => new ModelManifest("m", [new("a", 1, "abc")], DateTimeOffset.UnixEpoch));
        Assert.Throws<ArgumentException>(() => new ModelManifest("m", [new("a", -1, HashA)], DateTimeOffset.UnixEpoch));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("""{"schemaVersion":2,"modelId":"m","files":[]}""")]
    [InlineData("""{"schemaVersion":1,"files":[]}""")]
    [InlineData("""{"schemaVersion":1,"modelId":"m","files":[{"name":"../x","size":1,"sha256":"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"}]}""")]
    public void Invalid_manifest_text_is_a_format_error(string json)
    {
        Assert.Throws<FormatException>(() => ModelManifest.Parse(json));
    }
}
