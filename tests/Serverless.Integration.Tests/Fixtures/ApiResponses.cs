using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Serverless.Integration.Tests.Fixtures;

/// <summary>Small helpers for raw HTTP calls against the service.</summary>
public static class ApiResponses
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"Response ({(int)response.StatusCode}) is not JSON: {text}", ex);
        }
    }

    /// <summary>Asserts OpenAI's error envelope and returns its "error" object.</summary>
    public static async Task<JsonElement> ReadErrorAsync(this HttpResponseMessage response, int status)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var body = await response.ReadJsonAsync();
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()));
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }

    /// <summary>Reads an SSE body into its data payloads (without the "data: " prefix).</summary>
    public static async Task<List<string>> ReadEventsAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e["data: ".Length..] : throw new InvalidOperationException($"Not an SSE data event: {e}"))
            .ToList();
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.PostAsync(path, Json(json));
    }

    public static Task<HttpResponseMessage> PostJsonAsync<T>(this HttpClient client, string path, T value)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.PostAsJsonAsync(path, value);
    }
}
