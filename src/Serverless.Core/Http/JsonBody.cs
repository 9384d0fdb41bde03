using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>Reads a request body as JSON with a hard size limit, so a huge body costs at most the limit.</summary>
public static class JsonBody
{
    /// <summary>The largest body of a route that takes a small JSON object (admin, batches, dashboard): 64 KiB.</summary>
    public const long SmallBodyBytes = 64 * 1024;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>Reads a small JSON object (at most <see cref="SmallBodyBytes"/>).</summary>
    public static Task<JsonDocument> ReadSmallAsync(HttpRequest request, CancellationToken cancellationToken) =>
        ReadAsync(request, SmallBodyBytes, cancellationToken);

    public static async Task<JsonDocument> ReadAsync(HttpRequest request, long limitBytes, CancellationToken cancellationToken) =>
        (await ReadWithHashAsync(request, limitBytes, cancellationToken)).Document;

    /// <summary>Reads the body as JSON and also returns the SHA-256 of its bytes (what an Idempotency-Key is bound to).</summary>
    public static async Task<RequestJson> ReadWithHashAsync(HttpRequest request, long limitBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength is long declared && declared > limitBytes)
        {
            throw ApiException.PayloadTooLarge(limitBytes);
        }

        var buffer = new ArrayBufferWriter<byte>(
            (int)Math.Min(Math.Max(request.ContentLength ?? 4096, 256), limitBytes + 1));
        while (true)
        {
            var memory = buffer.GetMemory(8192);
            int read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limitBytes)
            {
                throw ApiException.PayloadTooLarge(limitBytes);
            }
        }

        if (buffer.WrittenCount == 0)
        {
            throw ApiException.BadRequest(
                "The request body is empty. Send a JSON object, for example {\"model\": \"...\", ...}.", code: "empty_body");
        }

        try
        {
            var document = JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw ApiException.BadRequest("The request body must be a JSON object.", code: "invalid_json");
            }

            if (JsonText.FindInvalid(buffer.WrittenSpan) is { } invalid)
            {
                document.Dispose();
                throw ApiException.BadRequest($"We could not parse the JSON body of your request: {invalid}.", code: "invalid_json");
            }

            return new RequestJson(document, Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan)));
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest(
                $"We could not parse the JSON body of your request: {ex.Message}", code: "invalid_json");
        }
    }
}

/// <summary>A parsed JSON body and the SHA-256 (hex) of its bytes.</summary>
public sealed record RequestJson(JsonDocument Document, string Sha256) : IDisposable
{
    public JsonElement Root => Document.RootElement;

    public void Dispose() => Document.Dispose();
}
