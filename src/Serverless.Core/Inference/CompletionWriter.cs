using System.Buffers;
using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Serverless.Core.Inference;

/// <summary>
/// Writes completion responses in OpenAI's shapes. Stream chunks reuse a prefix and suffix built once per
/// request, so a token costs one escaped string write and a flush.
/// </summary>
public sealed class CompletionWriter
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    private readonly CompletionKind _kind;
    private readonly string _id;
    private readonly long _created;
    private readonly string _model;
    private readonly bool _includeUsage;
    private byte[]? _chunkPrefix;
    private byte[]? _chunkSuffix;
    private Utf8JsonWriter? _pieceWriter;

    public CompletionWriter(CompletionKind kind, string id, long created, string model, bool includeUsage)
    {
        _kind = kind;
        _id = id;
        _created = created;
        _model = model;
        _includeUsage = includeUsage;
    }

    public static string FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    /// <summary>The whole non-streaming response body.</summary>
    public void WriteCompletion(IBufferWriter<byte> output, StoredCompletion completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        using var json = new Utf8JsonWriter(output, WriterOptions with { SkipValidation = false });
        json.WriteStartObject();
        BeginChoice(json, chunk: false);
        if (_kind == CompletionKind.Chat)
        {
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            if (completion.ToolCalls.Count > 0)
            {
                json.WriteNull("content");
                WriteToolCalls(json, completion.ToolCalls, streamed: false);
            }
            else
            {
                json.WriteString("content", completion.Text);
            }

            json.WriteNull("refusal");
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", completion.Text);
            json.WriteNumber("index", 0);
        }

        EndChoice(json, completion.Finish);
        WriteUsage(json, completion.PromptTokens, completion.CompletionTokens);
        json.WriteEndObject();
    }

    /// <summary>The calls as stream chunks, one call whole in each, the way OpenAI SDKs assemble <c>delta.tool_calls</c>.</summary>
    public void WriteToolCallChunks(PipeWriter output, IReadOnlyList<ToolCall> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        for (int i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            int index = i;
            WriteEvent(output, json =>
            {
                BeginChoice(json, chunk: true);
                json.WriteNumber("index", 0);
                json.WriteStartObject("delta");
                WriteToolCalls(json, [call], streamed: true, firstIndex: index);
                json.WriteEndObject();
                EndChoice(json, finish: null);
                WriteUsagePlaceholder(json);
            });
        }
    }

    private static void WriteToolCalls(Utf8JsonWriter json, IReadOnlyList<ToolCall> calls, bool streamed, int firstIndex = 0)
    {
        json.WriteStartArray("tool_calls");
        for (int i = 0; i < calls.Count; i++)
        {
            json.WriteStartObject();
            if (streamed)
            {
                json.WriteNumber("index", firstIndex + i);
            }

            json.WriteString("id", calls[i].Id);
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", calls[i].Name);
            json.WriteString("arguments", calls[i].Arguments);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>The first chat chunk announces the assistant role, as OpenAI's stream does.</summary>
    public void WriteRoleChunk(PipeWriter output)
    {
        if (_kind != CompletionKind.Chat)
        {
            return;
        }

        WriteEvent(output, json =>
        {
            BeginChoice(json, chunk: true);
            json.WriteNumber("index", 0);
            json.WriteStartObject("delta");
            json.WriteString("role", "assistant");
            json.WriteString("content", string.Empty);
            json.WriteEndObject();
            EndChoice(json, finish: null);
            WriteUsagePlaceholder(json);
        });
    }

    /// <summary>One text piece as a stream chunk.</summary>
    public void WritePieceChunk(PipeWriter output, string piece)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_chunkPrefix is null)
        {
            BuildChunkTemplate();
        }

        output.Write(_chunkPrefix);
        _pieceWriter!.Reset(output);
        _pieceWriter.WriteStringValue(piece);
        _pieceWriter.Flush();
        output.Write(_chunkSuffix);
    }

    /// <summary>The closing chunks: finish_reason, then usage when asked for, then [DONE].</summary>
    /// <param name="receipt">The signed usage receipt, sent with the usage chunk (a stream has no trailing headers).</param>
    public void WriteFinish(PipeWriter output, FinishReason finish, int promptTokens, int completionTokens, string? receipt = null)
    {
        WriteEvent(output, json =>
        {
            BeginChoice(json, chunk: true);
            if (_kind == CompletionKind.Chat)
            {
                json.WriteNumber("index", 0);
                json.WriteStartObject("delta");
                json.WriteEndObject();
            }
            else
            {
                json.WriteString("text", string.Empty);
                json.WriteNumber("index", 0);
            }

            EndChoice(json, finish);
            WriteUsagePlaceholder(json);
        });

        if (_includeUsage)
        {
            WriteEvent(output, json =>
            {
                WriteHeader(json, chunk: true);
                json.WriteStartArray("choices");
                json.WriteEndArray();
                WriteUsage(json, promptTokens, completionTokens);
                if (receipt is not null)
                {
                    json.WriteString("usage_receipt", receipt);
                }
            });
        }
    }

    public static void WriteDone(PipeWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Done);
    }

    /// <summary>An error after the stream started can only travel as an event.</summary>
    public static void WriteErrorEvent(PipeWriter output, string message, string type, string? code)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(output, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("type", type);
            json.WriteNull("param");
            if (code is null)
            {
                json.WriteNull("code");
            }
            else
            {
                json.WriteString("code", code);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        output.Write(EventEnd);
    }

    private void WriteEvent(PipeWriter output, Action<Utf8JsonWriter> body)
    {
        output.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(output, WriterOptions))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        output.Write(EventEnd);
    }

    private void WriteHeader(Utf8JsonWriter json, bool chunk)
    {
        json.WriteString("id", _id);
        json.WriteString("object", (_kind, chunk) switch
        {
            (CompletionKind.Chat, false) => "chat.completion",
            (CompletionKind.Chat, true) => "chat.completion.chunk",
            _ => "text_completion",
        });
        json.WriteNumber("created", _created);
        json.WriteString("model", _model);
        json.WriteNull("system_fingerprint");
    }

    private static void WriteUsage(Utf8JsonWriter json, int promptTokens, int completionTokens)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", promptTokens + completionTokens);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", 0);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // The response's id, object, created and model, then the one choice opened.
    private void BeginChoice(Utf8JsonWriter json, bool chunk)
    {
        WriteHeader(json, chunk);
        json.WriteStartArray("choices");
        json.WriteStartObject();
    }

    // Closes the choice that BeginChoice opened; a chunk before the last has no finish reason yet.
    private static void EndChoice(Utf8JsonWriter json, FinishReason? finish)
    {
        json.WriteNull("logprobs");
        if (finish is { } reason)
        {
            json.WriteString("finish_reason", FinishReasonText(reason));
        }
        else
        {
            json.WriteNull("finish_reason");
        }

        json.WriteEndObject();
        json.WriteEndArray();
    }

    // With stream_options.include_usage every chunk before the last carries "usage": null, as OpenAI's do.
    private void WriteUsagePlaceholder(Utf8JsonWriter json)
    {
        if (_includeUsage)
        {
            json.WriteNull("usage");
        }
    }

    // Everything in a content chunk but the piece itself is the same for the whole stream.
    private void BuildChunkTemplate()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            BeginChoice(json, chunk: true);
            if (_kind == CompletionKind.Chat)
            {
                json.WriteNumber("index", 0);
                json.WriteStartObject("delta");
                json.WritePropertyName("content");
            }
            else
            {
                json.WritePropertyName("text");
            }
        }

        _chunkPrefix = buffer.WrittenSpan.ToArray();
        string suffix = _kind == CompletionKind.Chat
            ? "},\"logprobs\":null,\"finish_reason\":null}]"
            : ",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]";
        if (_includeUsage)
        {
            suffix += ",\"usage\":null";
        }

        _chunkSuffix = System.Text.Encoding.UTF8.GetBytes(suffix + "}\n\n");
        _pieceWriter = new Utf8JsonWriter(new ArrayBufferWriter<byte>(), WriterOptions);
    }
}
