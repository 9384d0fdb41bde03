using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Serverless.Benchmarks;

/// <summary>The Batch API as a client uses it: upload a JSONL file, create a batch, poll it, download its files.</summary>
internal sealed class BatchApiClient : IDisposable
{
    private readonly HttpClient _http;

    public BatchApiClient(Uri baseAddress, string apiKey)
    {
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }, disposeHandler: true) { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>POST /v1/files (purpose batch); returns the file id.</summary>
    public async Task<string> UploadAsync(byte[] jsonl, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("batch"), "purpose");
        var file = new ByteArrayContent(jsonl);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", "bench.jsonl");
        using var response = await _http.PostAsync(new Uri("v1/files", UriKind.Relative), form, cancellationToken);
        using var body = await ReadAsync(response, "upload", cancellationToken);
        return body.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>POST /v1/batches; returns the batch id.</summary>
    public async Task<string> CreateAsync(string inputFileId, string endpoint, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync(
            new Uri("v1/batches", UriKind.Relative), new Dictionary<string, string> { ["input_file_id"] = inputFileId, ["endpoint"] = endpoint, ["completion_window"] = "24h" }, cancellationToken);
        using var body = await ReadAsync(response, "create batch", cancellationToken);
        return body.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>GET /v1/batches/{id}: the status, the request counts and the output and error file ids.</summary>
    public async Task<BatchState> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri("v1/batches/" + batchId, UriKind.Relative), cancellationToken);
        using var body = await ReadAsync(response, "get batch", cancellationToken);
        var root = body.RootElement;
        var counts = root.GetProperty("request_counts");
        return new BatchState(
            root.GetProperty("status").GetString()!,
            counts.GetProperty("total").GetInt32(),
            counts.GetProperty("completed").GetInt32(),
            counts.GetProperty("failed").GetInt32(),
            Optional(root, "output_file_id"),
            Optional(root, "error_file_id"),
            root.GetRawText());
    }

    /// <summary>GET /v1/files/{id}/content, split into lines.</summary>
    public async Task<string[]> DownloadLinesAsync(string fileId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri($"v1/files/{fileId}/content", UriKind.Relative), cancellationToken);
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Download of {fileId} failed with {(int)response.StatusCode}: {text}");
        }

        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public void Dispose() => _http.Dispose();

    private static async Task<JsonDocument> ReadAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{what} failed with {(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text);
    }

    private static string? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>A batch as GET /v1/batches/{id} shows it.</summary>
internal sealed record BatchState(string Status, int Total, int Completed, int Failed, string? OutputFileId, string? ErrorFileId, string Json)
{
    public bool IsFinal => Status is "completed" or "failed" or "expired" or "cancelled";
}
