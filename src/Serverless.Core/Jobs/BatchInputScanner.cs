using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Core.Http;

namespace Serverless.Core.Jobs;

/// <summary>What a scan of a batch input found.</summary>
/// <param name="Total">Non-blank lines read (each one a request, valid or not).</param>
/// <param name="Invalid">Lines refused (each one written to the invalid sink).</param>
/// <param name="Objects">Lines that were JSON objects: none means the file is not JSONL at all.</param>
/// <param name="TooManyLines">The scan stopped because the input has more than the allowed number of requests.</param>
public readonly record struct BatchScan(int Total, int Invalid, int Objects, bool TooManyLines);

/// <summary>
/// Reads a batch input file once, in place and with bounded memory whatever the input: one line at a time in the
/// reader's buffer (a line past the limit streams past without being kept), each line checked with a forward-only
/// JSON reader (no document, no copy of the line), custom_id values capped in length and remembered only as 128-bit
/// hashes for duplicate detection (at most MaxLines of them). A valid line goes to <c>valid</c> with its body still in
/// the buffer; a refused line becomes a short error entry (custom_id and message bounded) for <c>invalid</c>.
/// </summary>
public sealed class BatchInputScanner(string batchId, string endpoint, int maxLineBytes, int maxCustomIdLength, int maxLines)
{
    // A JSON string escapes one UTF-16 character in at most 6 bytes (\uXXXX): longer raw text cannot be within the cap.
    private const int MaxEscapedBytesPerChar = 6;

    public async Task<BatchScan> ScanAsync(
        Stream content,
        Func<int, string, ReadOnlySequence<byte>, ValueTask> valid,
        Func<byte[], ValueTask> invalid,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentNullException.ThrowIfNull(invalid);
        var seen = new HashSet<UInt128>();
        int total = 0;
        int refused = 0;
        int objects = 0;
        await foreach (var line in JsonlReader.ReadSlicesAsync(content, maxLineBytes, cancellationToken))
        {
            if (line.IsBlank)
            {
                continue;
            }

            int index = total++;
            if (total > maxLines)
            {
                return new BatchScan(total, refused, objects, TooManyLines: true);
            }

            var refusal = Check(line, seen, out string? customId, out var body, ref objects);
            if (refusal is { } error)
            {
                refused++;
                await invalid(BatchLines.Entry(index, false, BatchLines.Error(batchId, index, customId, error.Code,
                    string.Create(CultureInfo.InvariantCulture, $"Line {line.Number}: {error.Message}"))));
                continue;
            }

            await valid(index, customId!, body);
        }

        return new BatchScan(total, refused, objects, TooManyLines: false);
    }

    private BatchError? Check(JsonlSlice line, HashSet<UInt128> seen, out string? customId, out ReadOnlySequence<byte> body, ref int objects)
    {
        customId = null;
        body = default;
        if (line.TooLong)
        {
            return new BatchError("request_too_large", "The line is longer than the largest request this service accepts.");
        }

        // First, so nothing below reads a string that is not text (reading one throws, and would fail the batch).
        if (JsonText.FindInvalid(line.Bytes) is { } invalid)
        {
            return new BatchError("invalid_json_line", $"The line is not valid JSON: {invalid}.");
        }

        string? id = null;
        bool idTooLong = false;
        bool methodOk = false;
        bool urlOk = false;
        bool hasBody = false;
        try
        {
            var reader = new Utf8JsonReader(line.Bytes);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                reader.Read();
                return new BatchError("invalid_json_line", "The line is not a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("custom_id"u8))
                {
                    reader.Read();
                    (id, idTooLong) = reader.TokenType == JsonTokenType.String ? ReadCustomId(ref reader) : (null, false);
                }
                else if (reader.ValueTextEquals("method"u8))
                {
                    reader.Read();
                    methodOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("POST"u8);
                }
                else if (reader.ValueTextEquals("url"u8))
                {
                    reader.Read();
                    urlOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(endpoint);
                }
                else if (reader.ValueTextEquals("body"u8))
                {
                    reader.Read();
                    hasBody = reader.TokenType == JsonTokenType.StartObject;
                    long start = reader.TokenStartIndex;
                    reader.Skip();
                    if (hasBody)
                    {
                        body = line.Bytes.Slice(start, reader.BytesConsumed - start);
                    }
                }
                else
                {
                    reader.Read();
                }

                // Past the value (a no-op for a string, number or literal; the whole object or array otherwise).
                reader.Skip();
            }

            // Anything after the object (a second value, stray characters) throws here.
            reader.Read();
        }
        catch (JsonException ex)
        {
            return new BatchError("invalid_json_line", $"The line is not valid JSON: {ex.Message}");
        }

        objects++;
        if (idTooLong)
        {
            return new BatchError("custom_id_too_long", string.Create(CultureInfo.InvariantCulture,
                $"The custom_id is longer than {maxCustomIdLength} characters (Batch:MaxCustomIdLength)."));
        }

        if (id is not { Length: > 0 })
        {
            return new BatchError("missing_custom_id", "Every request needs a non-empty string 'custom_id'.");
        }

        customId = id;
        if (!seen.Add(Hash(id)))
        {
            return new BatchError("duplicate_custom_id", $"The custom_id '{id}' is used by an earlier line; custom_id values must be unique within a batch.");
        }

        if (!methodOk)
        {
            return new BatchError("invalid_method", "The method must be \"POST\".");
        }

        if (!urlOk)
        {
            return new BatchError("invalid_url", $"The url must be the batch's endpoint, \"{endpoint}\".");
        }

        if (!hasBody)
        {
            return new BatchError("invalid_body", "The body must be a JSON object: the request to send to the url.");
        }

        return null;
    }

    /// <summary>The custom_id, or that it is over the cap, without ever materializing an over-long one.</summary>
    private (string? Id, bool TooLong) ReadCustomId(ref Utf8JsonReader reader)
    {
        long raw = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (raw > (long)maxCustomIdLength * MaxEscapedBytesPerChar)
        {
            return (null, true);
        }

        string value = reader.GetString()!;
        return value.Length > maxCustomIdLength ? (null, true) : (value, false);
    }

    /// <summary>The first 128 bits of the id's SHA-256: a collision (a false duplicate) is beyond reach at 50,000 ids.</summary>
    private static UInt128 Hash(string id)
    {
        var utf8 = Encoding.UTF8.GetBytes(id);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8, hash);
        return BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }
}
