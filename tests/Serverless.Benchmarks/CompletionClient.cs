using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Serverless.Benchmarks;

/// <summary>
/// POST /v1/completions over loopback HTTP, whole or streamed, timed from sending the request to having the
/// last byte of text. The client side is kept lean (one pooled connection per concurrent request, SSE parsed
/// from bytes) so it takes as little CPU from the server as a client can.
/// </summary>
internal sealed class CompletionClient : IDisposable
{
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] DoneData = "[DONE]"u8.ToArray();

    private readonly HttpClient _http;
    private readonly string _model;

    public CompletionClient(Uri baseAddress, string apiKey, string model)
    {
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None }, disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(5),
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        _model = model;
    }

    /// <summary>A non-streaming completion; the clock stops when the whole body has arrived.</summary>
    public async Task<GenerationRun> CompleteAsync(string prompt, int maxTokens, CancellationToken cancellationToken)
    {
        using var request = Request(prompt, maxTokens, stream: false);
        var started = Stopwatch.GetTimestamp();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        EnsureSuccess(response, body);

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        string text = root.GetProperty("choices")[0].GetProperty("text").GetString() ?? string.Empty;
        var usage = root.GetProperty("usage");
        return new GenerationRun(usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(), text, elapsed, elapsed)
        {
            Ledger = LedgerTiming(response),
        };
    }

    /// <summary>
    /// A streamed completion read to [DONE]. FirstToken is when the first chunk with text arrived; Chunks
    /// counts chunks with text. The usage chunk (stream_options.include_usage) gives the token counts.
    /// </summary>
    public async Task<StreamedRun> StreamAsync(string prompt, int maxTokens, CancellationToken cancellationToken)
    {
        using var request = Request(prompt, maxTokens, stream: true);
        var started = Stopwatch.GetTimestamp();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            EnsureSuccess(response, await response.Content.ReadAsByteArrayAsync(cancellationToken));
        }

        long? modelLoad = response.Headers.TryGetValues("x-model-load-ms", out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out long ms) ? ms : null;

        var text = new StringBuilder();
        var state = new StreamState();
        TimeSpan firstToken = default;
        var reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(cancellationToken));
        try
        {
            bool done = false;
            while (!done)
            {
                var read = await reader.ReadAsync(cancellationToken);
                var buffer = read.Buffer;
                while (!done && TryReadEvent(ref buffer, out var data))
                {
                    if (data.SequenceEqual(DoneData))
                    {
                        done = true;
                        break;
                    }

                    int before = text.Length;
                    ReadChunk(data, text, state);
                    if (text.Length > before && state.Chunks++ == 0)
                    {
                        firstToken = Stopwatch.GetElapsedTime(started);
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted && !done)
                {
                    throw new InvalidOperationException("The stream ended without data: [DONE].");
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }

        var run = new GenerationRun(state.PromptTokens, state.CompletionTokens, text.ToString(), Stopwatch.GetElapsedTime(started), firstToken, state.Chunks);
        return new StreamedRun(run, modelLoad);
    }

    public void Dispose() => _http.Dispose();

    private HttpRequestMessage Request(string prompt, int maxTokens, bool stream)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("model", _model);
            json.WriteString("prompt", prompt);
            json.WriteNumber("max_tokens", maxTokens);
            json.WriteNumber("temperature", 0);
            if (stream)
            {
                json.WriteBoolean("stream", true);
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        var content = new ByteArrayContent(body.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, new Uri("v1/completions", UriKind.Relative)) { Content = content };
    }

    private static void EnsureSuccess(HttpResponseMessage response, byte[] body)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST /v1/completions answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}", null, response.StatusCode);
        }
    }

    // Server-Timing: ledger;dur=0.231 (milliseconds), as the service sends it on whole responses with metering on.
    private static TimeSpan? LedgerTiming(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Server-Timing", out var values))
        {
            return null;
        }

        foreach (string metric in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)))
        {
            string[] parts = metric.Split(';', StringSplitOptions.TrimEntries);
            if (parts[0] == "ledger" && parts.Skip(1).FirstOrDefault(p => p.StartsWith("dur=", StringComparison.Ordinal)) is { } duration
                && double.TryParse(duration.AsSpan(4), NumberStyles.Float, CultureInfo.InvariantCulture, out double ms))
            {
                return TimeSpan.FromMilliseconds(ms);
            }
        }

        return null;
    }

    // One "data: ...\n\n" event; returns its payload without the prefix.
    private static bool TryReadEvent(ref ReadOnlySequence<byte> buffer, out byte[] data)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> eventBytes, EventEnd, advancePastDelimiter: true))
        {
            data = [];
            return false;
        }

        buffer = buffer.Slice(reader.Position);
        var bytes = eventBytes.ToArray();
        if (!bytes.AsSpan().StartsWith(DataPrefix))
        {
            throw new InvalidOperationException($"Unexpected server-sent event: {Encoding.UTF8.GetString(bytes)}");
        }

        data = bytes[DataPrefix.Length..];
        return true;
    }

    // Pulls "text" (choices[0].text) and the usage counts out of a chunk without building a document.
    private static void ReadChunk(byte[] data, StringBuilder text, StreamState state)
    {
        var json = new Utf8JsonReader(data);
        while (json.Read())
        {
            if (json.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (json.CurrentDepth == 1 && json.ValueTextEquals("error"))
            {
                throw new InvalidOperationException($"The stream carried an error: {Encoding.UTF8.GetString(data)}");
            }

            if (json.ValueTextEquals("text"))
            {
                json.Read();
                text.Append(json.GetString());
            }
            else if (json.ValueTextEquals("prompt_tokens"))
            {
                json.Read();
                state.PromptTokens = json.GetInt32();
            }
            else if (json.ValueTextEquals("completion_tokens"))
            {
                json.Read();
                state.CompletionTokens = json.GetInt32();
            }
        }
    }

    private sealed class StreamState
    {
        public int PromptTokens { get; set; }

        public int CompletionTokens { get; set; }

        public int Chunks { get; set; }
    }
}
