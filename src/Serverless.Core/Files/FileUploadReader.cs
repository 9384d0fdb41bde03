using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Serverless.Core.Http;

namespace Serverless.Core.Files;

/// <summary>
/// Reads an upload's multipart/form-data body (<c>file</c>, <c>purpose</c>=batch, optional <c>expires_after[anchor]</c>=created_at
/// and <c>expires_after[seconds]</c>) and checks it the way OpenAI does. The file part streams to a store as it arrives,
/// so no upload is held in memory; the small fields are read whole up to <see cref="MaxFieldLength"/> bytes. A form
/// refused after its file part was stored has that content discarded.
/// </summary>
public static class FileUploadReader
{
    /// <summary>Room for the multipart framing and the small fields around the file.</summary>
    public const long FramingAllowance = 1024 * 1024;

    public const int MaxFieldLength = 1024;

    public const int MaxFilenameLength = 512;

    /// <summary>OpenAI's bounds for expires_after[seconds]: one hour to 30 days.</summary>
    public const int MinExpirySeconds = 3600;

    public const int MaxExpirySeconds = 2_592_000;

    private const string DefaultFilename = "upload.jsonl";

    /// <summary>The largest body an upload of a file of at most <paramref name="maxFileBytes"/> may have, and the longest part.</summary>
    public static long MaxBodyBytes(long maxFileBytes) => maxFileBytes + FramingAllowance;

    /// <summary>The 413 file_too_large of a file past <paramref name="maxFileBytes"/>.</summary>
    public static ApiException TooLarge(long maxFileBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "file_too_large",
            string.Create(CultureInfo.InvariantCulture, $"The file is larger than the limit of {maxFileBytes} bytes."), "file");

    /// <summary>The multipart boundary of a Content-Type; anything but multipart/form-data with a boundary is a 415.</summary>
    public static string Boundary(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            || !parsed.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(parsed.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "invalid_request_error", "unsupported_media_type",
                "Upload files as multipart/form-data with the fields 'file' and 'purpose'.");
        }

        return boundary;
    }

    /// <summary>
    /// Reads the form. The file part goes to <paramref name="store"/>, which refuses content past its limit with
    /// <see cref="FileTooLargeException"/> (a 413 here); <paramref name="discard"/> deletes stored content again when
    /// the form is refused after it. No part may be longer than <see cref="MaxBodyBytes"/>; the whole body is bounded by
    /// the server (see <see cref="UploadFileHandler"/>).
    /// </summary>
    public static async Task<FileUpload> ReadAsync(
        Stream body,
        string boundary,
        long maxFileBytes,
        Func<Stream, CancellationToken, Task<UploadedContent>> store,
        Func<UploadedContent, Task> discard,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(discard);
        var reader = new MultipartReader(boundary, body) { BodyLengthLimit = MaxBodyBytes(maxFileBytes) };
        string? purpose = null;
        string? anchor = null;
        string? seconds = null;
        UploadedContent? content = null;
        string filename = DefaultFilename;
        bool accepted = false;
        try
        {
            while (await ReadSectionAsync(reader, cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    continue;
                }

                string name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? string.Empty;
                string? partFilename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value ?? HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                if (name == "file" && partFilename is not null)
                {
                    if (content is not null)
                    {
                        throw ApiException.InvalidValue("file", "Send one file per upload.");
                    }

                    content = await StoreAsync(section.Body, maxFileBytes, store, cancellationToken);
                    filename = CleanFilename(partFilename);
                }
                else if (name == "purpose")
                {
                    purpose = await ReadFieldAsync(section.Body, name, cancellationToken);
                }
                else if (name == "expires_after[anchor]")
                {
                    anchor = await ReadFieldAsync(section.Body, name, cancellationToken);
                }
                else if (name == "expires_after[seconds]")
                {
                    seconds = await ReadFieldAsync(section.Body, name, cancellationToken);
                }
            }

            if (content is null)
            {
                throw ApiException.MissingParameter("file");
            }

            if (purpose is null)
            {
                throw ApiException.MissingParameter("purpose");
            }

            if (purpose != FilePurpose.Batch)
            {
                throw ApiException.InvalidValue("purpose", $"Invalid value for 'purpose': '{purpose}'. This service stores files for the Batch API only: use 'batch'.");
            }

            var upload = new FileUpload(content, filename, purpose, ExpiresAfter(anchor, seconds));
            accepted = true;
            return upload;
        }
        catch (IOException ex) when (ex is not BadHttpRequestException and not FileTooLargeException)
        {
            // The multipart reader says "Unexpected end of Stream" when the body stops before its closing boundary:
            // the client's mistake, unlike a connection that broke, after which the body cannot be read on.
            if (!await EndedAsync(body, cancellationToken))
            {
                throw;
            }

            throw ApiException.BadRequest("The multipart body ended before its closing boundary.", code: "invalid_multipart");
        }
        finally
        {
            if (!accepted && content is not null)
            {
                await discard(content);
            }
        }
    }

    /// <summary>OpenAI's expires_after: both fields or neither; the anchor is created_at; the seconds an integer in 3600..2592000.</summary>
    public static TimeSpan? ExpiresAfter(string? anchor, string? seconds)
    {
        if (anchor is null && seconds is null)
        {
            return null;
        }

        if (anchor is null)
        {
            throw ApiException.MissingParameter("expires_after[anchor]");
        }

        if (seconds is null)
        {
            throw ApiException.MissingParameter("expires_after[seconds]");
        }

        if (anchor != "created_at")
        {
            throw ApiException.InvalidValue("expires_after[anchor]", $"Invalid value for 'expires_after[anchor]': '{anchor}'. The only supported anchor is 'created_at'.");
        }

        if (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value is < MinExpirySeconds or > MaxExpirySeconds)
        {
            throw ApiException.InvalidValue("expires_after[seconds]", string.Create(CultureInfo.InvariantCulture,
                $"Invalid value for 'expires_after[seconds]': '{seconds}'. It must be an integer between {MinExpirySeconds} (1 hour) and {MaxExpirySeconds} (30 days)."));
        }

        return TimeSpan.FromSeconds(value);
    }

    // Only the name is kept: a path the client sends says nothing about the file and could mislead whoever reads it.
    private static string CleanFilename(string filename) =>
        Path.GetFileName(filename) is { Length: > 0 } clean ? clean[..Math.Min(clean.Length, MaxFilenameLength)] : DefaultFilename;

    private static async Task<UploadedContent> StoreAsync(Stream part, long maxFileBytes, Func<Stream, CancellationToken, Task<UploadedContent>> store, CancellationToken cancellationToken)
    {
        try
        {
            return await store(part, cancellationToken);
        }
        catch (FileTooLargeException)
        {
            throw TooLarge(maxFileBytes);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // The server's own body limit, met while the file part was read.
            throw TooLarge(maxFileBytes);
        }
    }

    private static async Task<bool> EndedAsync(Stream body, CancellationToken cancellationToken)
    {
        try
        {
            return await body.ReadAsync(new byte[1], cancellationToken) == 0;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<MultipartSection?> ReadSectionAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            throw ApiException.BadRequest($"The multipart body could not be read: {ex.Message}", code: "invalid_multipart");
        }
    }

    private static async Task<string> ReadFieldAsync(Stream body, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFieldLength + 1];
        int total = 0;
        int read;
        while (total < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
        }

        if (total > MaxFieldLength)
        {
            throw ApiException.InvalidValue(name, $"'{name}' is too long.");
        }

        return Encoding.UTF8.GetString(buffer, 0, total).Trim();
    }
}
