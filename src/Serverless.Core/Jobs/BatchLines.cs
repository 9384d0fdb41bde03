using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serverless.Core.Http;

namespace Serverless.Core.Jobs;

/// <summary>
/// The JSON lines a batch reads and writes: a valid input line as a chunk stores it, and the output and error file
/// lines (OpenAI's shape: <c>{id, custom_id, response: {status_code, request_id, body} | null, error: {code, message} | null}</c>)
/// wrapped with the line's index while they wait in a chunk's results.
/// </summary>
public static class BatchLines
{
    public const string CancelledCode = "batch_cancelled";
    public const string ExpiredCode = "batch_expired";

    /// <summary>Longest error message an error file line carries (longer ones are cut, marked with an ellipsis), so the error file stays proportional to the number of lines.</summary>
    public const int MaxErrorMessageLength = 1024;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The ledger request id of a line: stable, so a line run twice is the same request to the ledger.</summary>
    public static string RequestId(string batchId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{batchId}-{index}");

    /// <summary>A valid input line as a chunk stores it.</summary>
    public static byte[] ChunkLine(int index, string customId, JsonElement body) =>
        Write(json =>
        {
            json.WriteNumber("index", index);
            json.WriteString("custom_id", customId);
            json.WritePropertyName("body");
            body.WriteTo(json);
        });

    /// <summary>A valid input line as a chunk stores it, its body copied as it was in the input.</summary>
    public static byte[] ChunkLine(int index, string customId, ReadOnlySequence<byte> body) =>
        Write(json =>
        {
            json.WriteNumber("index", index);
            json.WriteString("custom_id", customId);
            json.WritePropertyName("body");
            json.WriteRawValue(body, skipInputValidation: true);
        });

    /// <summary>A result waiting in a chunk's results blob: the index, whether it goes to the output file, and the line itself.</summary>
    public static byte[] Entry(int index, bool ok, ReadOnlyMemory<byte> line) =>
        Write(json =>
        {
            json.WriteNumber("index", index);
            json.WriteBoolean("ok", ok);
            json.WritePropertyName("line");
            json.WriteRawValue(line.Span, skipInputValidation: true);
        });

    /// <summary>An output file line: the response the route would have given.</summary>
    public static byte[] Response(string batchId, int index, string? customId, int statusCode, ReadOnlyMemory<byte> body) =>
        Write(json =>
        {
            WriteHeader(json, batchId, index, customId);
            json.WriteStartObject("response");
            json.WriteNumber("status_code", statusCode);
            json.WriteString("request_id", RequestId(batchId, index));
            json.WritePropertyName("body");
            json.WriteRawValue(body.Span, skipInputValidation: true);
            json.WriteEndObject();
            json.WriteNull("error");
        });

    /// <summary>An error file line for a request the route refused: the status and OpenAI error body it would have answered.</summary>
    public static byte[] ErrorResponse(string batchId, int index, string? customId, ApiException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var body = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", Bounded(error.Message));
            json.WriteString("type", error.Type);
            WriteNullable(json, "param", error.Param);
            WriteNullable(json, "code", error.Code);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Response(batchId, index, customId, error.Status, body.WrittenMemory);
    }

    /// <summary>An error file line for a line that never became a request (malformed, duplicate, cancelled, expired).</summary>
    public static byte[] Error(string batchId, int index, string? customId, string code, string message) =>
        Write(json =>
        {
            WriteHeader(json, batchId, index, customId);
            json.WriteNull("response");
            json.WriteStartObject("error");
            json.WriteString("code", code);
            json.WriteString("message", Bounded(message));
            json.WriteEndObject();
        });

    /// <summary>The message, cut to <see cref="MaxErrorMessageLength"/> characters.</summary>
    public static string Bounded(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Length <= MaxErrorMessageLength ? message : string.Concat(message.AsSpan(0, MaxErrorMessageLength - 1), "\u2026");
    }

    private static void WriteHeader(Utf8JsonWriter json, string batchId, int index, string? customId)
    {
        json.WriteString("id", string.Create(CultureInfo.InvariantCulture, $"batch_req_{batchId.AsSpan("batch_".Length)}_{index}"));
        WriteNullable(json, "custom_id", customId);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> properties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            properties(json);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
