using System.Text.Json;
using Serverless.Core.Http;
using Serverless.Core.Jobs;

namespace Serverless.Core.Tests.Jobs;

public sealed class BatchRequestTests
{
    private static BatchRequest Read(string json)
    {
        using var document = JsonDocument.Parse(json);
        return BatchRequest.Read(document.RootElement);
    }

    private static ApiException Refused(string json) => Assert.Throws<ApiException>(() => Read(json));

    private static string WithMetadata(IEnumerable<KeyValuePair<string, string>> pairs) =>
        "{\"input_file_id\":\"file-1\",\"endpoint\":\"/v1/completions\",\"completion_window\":\"24h\",\"metadata\":"
        + JsonSerializer.Serialize(pairs.ToDictionary(p => p.Key, p => p.Value)) + "}";

    [Fact]
    public void A_complete_request_is_read_with_its_metadata_as_the_json_stored_with_the_batch()
    {
        var request = Read("""{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"team":"nlp","run":"7"}}""");

        Assert.Equal(new BatchRequest("file-1", "/v1/chat/completions", "24h", """{"team":"nlp","run":"7"}"""), request);
    }

    [Fact]
    public void A_request_without_metadata_has_none()
    {
        Assert.Null(Read("""{"input_file_id":"file-1","endpoint":"/v1/completions","completion_window":"24h"}""").Metadata);
    }

    [Theory]
    [InlineData("""{"endpoint":"/v1/embeddings"}""", "missing_required_parameter", "input_file_id")]
    [InlineData("""{"input_file_id":"file-1","completion_window":"1h"}""", "missing_required_parameter", "endpoint")]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/embeddings","completion_window":"1h"}""", "invalid_value", "endpoint")]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions"}""", "missing_required_parameter", "completion_window")]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions","completion_window":"1h","metadata":1}""", "invalid_value", "completion_window")]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions","completion_window":"24h","metadata":["a"]}""", "invalid_type", "metadata")]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions","completion_window":"24h","metadata":{"n":1}}""", "invalid_type", "metadata.n")]
    public void The_first_missing_or_wrong_field_is_a_400_naming_it(string json, string code, string param)
    {
        var error = Refused(json);
        Assert.Equal((400, code, param), (error.Status, error.Code, error.Param));
    }

    [Fact]
    public void Metadata_has_at_most_16_pairs()
    {
        var pairs = Enumerable.Range(0, BatchRequest.MaxMetadataPairs).Select(i => KeyValuePair.Create("k" + i, "v")).ToList();
        Assert.NotNull(Read(WithMetadata(pairs)).Metadata);

        pairs.Add(KeyValuePair.Create("one-more", "v"));
        var error = Refused(WithMetadata(pairs));
        Assert.Equal((400, "invalid_value", "metadata"), (error.Status, error.Code, error.Param));
    }

    [Theory]
    [InlineData(64, 512, true)]
    [InlineData(65, 1, false)]
    [InlineData(1, 513, false)]
    public void Metadata_keys_are_at_most_64_characters_and_values_at_most_512(int keyLength, int valueLength, bool accepted)
    {
        string json = WithMetadata([KeyValuePair.Create(new string('k', keyLength), new string('v', valueLength))]);
        if (accepted)
        {
            Assert.NotNull(Read(json).Metadata);
        }
        else
        {
            Assert.Equal("metadata", Refused(json).Param);
        }
    }
}
