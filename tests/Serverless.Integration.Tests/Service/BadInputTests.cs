using System.Net;
using System.Text;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>Every kind of bad input gets a 4xx with OpenAI error JSON, and the host keeps serving.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class BadInputTests(ServiceFixture service)
{
    private const string User = """[{"role":"user","content":"hi"}]""";

    public static TheoryData<string, string, int, string?> Cases => new()
    {
        { "malformed JSON", """{"model":"demo","messages":[{"role":"user","content":"hi"}""", 400, "invalid_json" },
        { "not an object", """["model","demo"]""", 400, "invalid_json" },
        { "empty body", "", 400, "empty_body" },
        { "model of wrong type", $$"""{"model":42,"messages":{{User}}}""", 400, "invalid_type" },
        { "messages of wrong type", """{"model":"demo","messages":"hi"}""", 400, "invalid_type" },
        { "max_tokens of wrong type", $$"""{"model":"demo","messages":{{User}},"max_tokens":"10"}""", 400, "invalid_type" },
        { "temperature of wrong type", $$"""{"model":"demo","messages":{{User}},"temperature":"hot"}""", 400, "invalid_type" },
        { "missing messages", """{"model":"demo"}""", 400, "missing_required_parameter" },
        { "empty messages", """{"model":"demo","messages":[]}""", 400, "invalid_value" },
        { "unknown model", $$"""{"model":"gpt-9","messages":{{User}}}""", 404, "model_not_found" },
        { "negative max_tokens", $$"""{"model":"demo","messages":{{User}},"max_tokens":-5}""", 400, "invalid_value" },
        { "zero max_tokens", $$"""{"model":"demo","messages":{{User}},"max_tokens":0}""", 400, "invalid_value" },
        { "huge max_tokens", $$"""{"model":"demo","messages":{{User}},"max_tokens":100000000}""", 400, "context_length_exceeded" },
        { "max_tokens beyond int", $$"""{"model":"demo","messages":{{User}},"max_tokens":1e300}""", 400, "invalid_type" },
        { "five stop strings", $$"""{"model":"demo","messages":{{User}},"stop":["a","b","c","d","e"]}""", 400, "invalid_value" },
        { "n=2", $$"""{"model":"demo","messages":{{User}},"n":2}""", 400, "unsupported_parameter" },
        { "unknown role", """{"model":"demo","messages":[{"role":"robot","content":"hi"}]}""", 400, "invalid_value" },
        { "message without content", """{"model":"demo","messages":[{"role":"user"}]}""", 400, "missing_required_parameter" },
        { "deeply nested JSON", "{\"model\":\"demo\",\"x\":" + new string('[', 5000) + new string(']', 5000) + "}", 400, "invalid_json" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_chat_request_gets_a_4xx_with_openai_error_json_and_the_host_keeps_serving(string name, string body, int status, string? code)
    {
        using var client = service.CreateClient();
        using (var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            var error = await response.ReadErrorAsync(status);
            Assert.True(code == error.GetProperty("code").GetString(), $"{name}: {error}");
        }

        await AssertStillServing(client);
    }

    [Fact]
    public async Task Ten_megabyte_body_is_refused_with_413_and_the_host_keeps_serving()
    {
        using var client = service.CreateClient();
        var huge = $$"""{"model":"demo","messages":[{"role":"user","content":"{{new string('x', 10 * 1024 * 1024)}}"}]}""";
        using (var response = await client.PostAsync("/v1/chat/completions", new StringContent(huge, Encoding.UTF8, "application/json")))
        {
            var error = await response.ReadErrorAsync(413);
            Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        }

        await AssertStillServing(client);
    }

    [Fact]
    public async Task Ten_megabyte_body_without_a_content_length_is_refused_too()
    {
        using var client = service.CreateClient();
        var chunk = Encoding.UTF8.GetBytes(new string(' ', 1024 * 1024));
        var content = new StreamContent(new ChunkedBody(chunk, 10));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using (var response = await client.SendAsync(request))
        {
            await response.ReadErrorAsync(413);
        }

        await AssertStillServing(client);
    }

    [Theory]
    [InlineData("""{"model":"demo"}""", "missing_required_parameter")]
    [InlineData("""{"model":"demo","prompt":{"a":1}}""", "invalid_type")]
    [InlineData("""{"model":"demo","prompt":["a","b"]}""", "unsupported_parameter")]
    [InlineData("""{"model":"demo","prompt":[99999999]}""", "invalid_value")]
    [InlineData("""{"model":"demo","prompt":"x","echo":true}""", "unsupported_parameter")]
    public async Task Bad_completion_request_gets_a_400(string body, string code)
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", body);
        var error = await response.ReadErrorAsync(400);
        Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Unknown_route_and_wrong_method_answer_in_openai_error_json()
    {
        using var client = service.CreateClient();
        using (var response = await client.GetAsync("/v1/nothing-here"))
        {
            await response.ReadErrorAsync(404);
        }

        using (var response = await client.GetAsync("/v1/chat/completions"))
        {
            await response.ReadErrorAsync(405);
        }
    }

    private static async Task AssertStillServing(HttpClient client)
    {
        using var ok = await client.PostJsonAsync("/v1/chat/completions", """{"model":"demo","messages":[{"role":"user","content":"hi"}],"max_tokens":1}""");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    // A body of unknown length, sent in chunks.
    private sealed class ChunkedBody(byte[] chunk, int count) : Stream
    {
        private int _sent;
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int size)
        {
            if (_sent == count)
            {
                return 0;
            }

            int n = Math.Min(size, chunk.Length - _offset);
            Array.Copy(chunk, _offset, buffer, offset, n);
            _offset += n;
            if (_offset == chunk.Length)
            {
                _offset = 0;
                _sent++;
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int size) => throw new NotSupportedException();
    }
}
