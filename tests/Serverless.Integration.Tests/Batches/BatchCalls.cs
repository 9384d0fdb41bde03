using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Batches;

/// <summary>The Files and Batch routes over raw HTTP, as a client without an SDK would call them.</summary>
public static class BatchCalls
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A JSONL request line for /v1/completions.</summary>
    public static string CompletionLine(string customId, int maxTokens, string prompt = "The river", string model = "demo", double temperature = 0) =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url = "/v1/completions",
            body = new { model, prompt, max_tokens = maxTokens, temperature },
        });

    /// <summary>A JSONL request line for /v1/chat/completions.</summary>
    public static string ChatLine(string customId, int maxTokens, string text = "Tell me about the river.", string model = "demo") =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url = "/v1/chat/completions",
            body = new { model, messages = new[] { new { role = "user", content = text } }, max_tokens = maxTokens, temperature = 0 },
        });

    public static async Task<HttpResponseMessage> UploadRawAsync(this HttpClient client, byte[] content, string purpose = "batch", string filename = "input.jsonl")
    {
        ArgumentNullException.ThrowIfNull(client);
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(purpose), "purpose");
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", filename);
        return await client.PostAsync("/v1/files", form);
    }

    /// <summary>Uploads JSONL lines as a batch input file and returns its id.</summary>
    public static async Task<string> UploadAsync(this HttpClient client, IEnumerable<string> lines) =>
        await client.UploadAsync(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

    public static async Task<string> UploadAsync(this HttpClient client, byte[] content)
    {
        using var response = await client.UploadRawAsync(content);
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Upload failed ({(int)response.StatusCode}): {body}");
        return body.GetProperty("id").GetString()!;
    }

    public static async Task<JsonElement> CreateBatchAsync(this HttpClient client, string inputFileId, string endpoint = "/v1/completions", object? metadata = null)
    {
        using var response = await client.PostJsonAsync("/v1/batches", new { input_file_id = inputFileId, endpoint, completion_window = "24h", metadata });
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Create batch failed ({(int)response.StatusCode}): {body}");
        return body;
    }

    public static async Task<JsonElement> GetBatchAsync(this HttpClient client, string batchId)
    {
        using var response = await client.GetAsync($"/v1/batches/{batchId}");
        var body = await response.ReadJsonAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Get batch failed ({(int)response.StatusCode}): {body}");
        return body;
    }

    /// <summary>Polls the batch until <paramref name="condition"/> holds; fails with the last state after <paramref name="timeout"/>.</summary>
    public static async Task<JsonElement> WaitForBatchAsync(this HttpClient client, string batchId, Func<JsonElement, bool> condition, TimeSpan timeout, string what, Func<string>? report = null)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            JsonElement batch;
            try
            {
                batch = await client.GetBatchAsync(batchId);
            }
            catch (HttpRequestException) when (waited.Elapsed < timeout)
            {
                // The host may be restarting.
                await Task.Delay(PollInterval);
                continue;
            }

            if (condition(batch))
            {
                return batch;
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}. Last state: {batch}\n{report?.Invoke()}");
            }

            await Task.Delay(PollInterval);
        }
    }

    public static Task<JsonElement> WaitUntilDoneAsync(this HttpClient client, string batchId, TimeSpan? timeout = null, Func<string>? report = null) =>
        client.WaitForBatchAsync(batchId, b => Status(b) is "completed" or "failed" or "expired" or "cancelled", timeout ?? TimeSpan.FromSeconds(60), "the batch to finish", report);

    public static string Status(JsonElement batch) => batch.GetProperty("status").GetString()!;

    public static (int Total, int Completed, int Failed) Counts(JsonElement batch)
    {
        var counts = batch.GetProperty("request_counts");
        return (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32());
    }

    /// <summary>The lines of a file, parsed; none when <paramref name="fileId"/> is null.</summary>
    public static async Task<List<JsonElement>> ReadFileLinesAsync(this HttpClient client, string? fileId)
    {
        if (fileId is null)
        {
            return [];
        }

        using var response = await client.GetAsync($"/v1/files/{fileId}/content");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Download of {fileId} failed ({(int)response.StatusCode}): {text}");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    public static string? OptionalString(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
