using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>Bodies that are not text, or not HTTP, are the client's error: a 4xx in OpenAI's shape, never a 500.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class MalformedBodyTests(ServiceFixture service)
{
    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 }, "UTF-8")]
    [InlineData(new byte[] { 0x5C, 0x75, 0x64, 0x38, 0x30, 0x30 }, "surrogate")] // the escape \ud800
    public async Task A_string_that_is_not_text_is_a_400_naming_the_problem(byte[] inside, string named)
    {
        byte[] body = [.. """{"model":"demo","messages":[{"role":"user","content":"a """u8, .. inside, .. """ b"}],"max_tokens":1}"""u8];
        using var client = service.CreateClient();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync("/v1/chat/completions", content);

        var error = await response.ReadErrorAsync(400);
        Assert.Equal("invalid_json", error.GetProperty("code").GetString());
        Assert.Contains(named, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_with_broken_chunked_encoding_is_a_400_and_the_service_still_serves()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(service.BaseAddress.Host, service.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        string request =
            "POST /v1/chat/completions HTTP/1.1\r\n" +
            $"Host: {service.BaseAddress.Authority}\r\n" +
            $"Authorization: Bearer {service.ApiKey}\r\n" +
            "Content-Type: application/json\r\n" +
            "Transfer-Encoding: chunked\r\n" +
            "Connection: close\r\n\r\n" +
            "5\r\n{\"mod\r\nZZZ-not-a-chunk-size\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        using var reader = new StreamReader(stream, Encoding.UTF8);
        string answer = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"invalid_request_body\"", answer, StringComparison.Ordinal);
        using var client = service.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
    }
}
