using System.Net;
using System.Text.Json;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Faults;

/// <summary>
/// A streamed /v1/completions call as the client saw it: read to its end, whatever that was ([DONE] with a usage
/// chunk, or the connection breaking).
/// </summary>
public sealed class ClientStream
{
    public string RequestId { get; private set; } = "(no response)";

    /// <summary>Chunks with text received before the stream ended.</summary>
    public int ContentChunks { get; private set; }

    /// <summary>The usage chunk, if the stream got that far (it comes just before [DONE]).</summary>
    public ClientUsage? Usage { get; private set; }

    public bool SawDone { get; private set; }

    /// <summary>Why the stream ended early, if it did with an error.</summary>
    public Exception? Failure { get; private set; }

    /// <param name="firstContent">Completed at the first chunk with text; failed if the stream ends before one.</param>
    public static async Task<ClientStream> RunAsync(HttpClient client, string body, TaskCompletionSource firstContent, string? idempotencyKey = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(firstContent);
        var stream = new ClientStream();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = ApiResponses.Json(body) };
            if (idempotencyKey is not null)
            {
                request.Headers.Add("Idempotency-Key", idempotencyKey);
            }

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"Stream refused ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
            }

            stream.RequestId = response.Headers.GetValues("x-request-id").Single();
            await stream.ReadAsync(await response.Content.ReadAsStreamAsync(), firstContent);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException or JsonException)
        {
            stream.Failure = ex;
        }

        firstContent.TrySetException(new InvalidOperationException($"Stream {stream.RequestId} ended before any content: {stream.Failure}"));
        return stream;
    }

    private async Task ReadAsync(Stream body, TaskCompletionSource firstContent)
    {
        using var reader = new StreamReader(body);
        string? finishReason = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            string data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                SawDone = true;
                return;
            }

            var chunk = JsonDocument.Parse(data).RootElement;
            if (chunk.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                Usage = ClientUsage.From(RequestId, usage, finishReason ?? "(no finish chunk)");
                continue;
            }

            var choice = chunk.GetProperty("choices")[0];
            if (choice.GetProperty("finish_reason").GetString() is { } finish)
            {
                finishReason = finish;
            }
            else if (choice.GetProperty("text").GetString() is { Length: > 0 })
            {
                ContentChunks++;
                firstContent.TrySetResult();
            }
        }
    }
}
