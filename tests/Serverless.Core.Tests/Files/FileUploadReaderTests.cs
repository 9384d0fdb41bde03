using System.Text;
using Serverless.Core.Files;
using Serverless.Core.Http;

namespace Serverless.Core.Tests.Files;

/// <summary>
/// The upload form as clients send it (built by System.Net.Http's MultipartFormDataContent, or written by hand where a
/// client would get it wrong), read into a store that keeps content in memory with the limit the blob store applies.
/// </summary>
public sealed class FileUploadReaderTests
{
    private const long MaxFileBytes = 4096;
    private const string Jsonl = "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n";

    private readonly Dictionary<string, byte[]> _stored = [];
    private readonly List<string> _discarded = [];

    private async Task<UploadedContent> StoreAsync(Stream part, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await new BoundedReadStream(part, MaxFileBytes).CopyToAsync(copy, cancellationToken);
        string id = "file-" + _stored.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _stored[id] = copy.ToArray();
        return new UploadedContent(id, "files/" + id, copy.Length);
    }

    private Task DiscardAsync(UploadedContent content)
    {
        _discarded.Add(content.Id);
        return Task.CompletedTask;
    }

    private async Task<FileUpload> ReadAsync(MultipartFormDataContent form)
    {
        string boundary = FileUploadReader.Boundary(form.Headers.ContentType!.ToString());
        using var body = new MemoryStream(await form.ReadAsByteArrayAsync());
        return await FileUploadReader.ReadAsync(body, boundary, MaxFileBytes, StoreAsync, DiscardAsync, CancellationToken.None);
    }

    private Task<FileUpload> ReadAsync(string boundary, string body) =>
        FileUploadReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(body)), boundary, MaxFileBytes, StoreAsync, DiscardAsync, CancellationToken.None);

    private async Task<ApiException> RefusedAsync(MultipartFormDataContent form) =>
        await Assert.ThrowsAsync<ApiException>(() => ReadAsync(form));

    private static MultipartFormDataContent Form(string? purpose = "batch", string? file = Jsonl, string filename = "input.jsonl")
    {
        var form = new MultipartFormDataContent();
        if (file is not null)
        {
            form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(file)), "file", filename);
        }

        if (purpose is not null)
        {
            form.Add(new StringContent(purpose), "purpose");
        }

        return form;
    }

    [Fact]
    public async Task A_file_and_purpose_batch_store_the_file_part_and_read_its_name_and_fields()
    {
        using var form = Form();
        var upload = await ReadAsync(form);

        Assert.Equal("input.jsonl", upload.Filename);
        Assert.Equal(FilePurpose.Batch, upload.Purpose);
        Assert.Null(upload.ExpiresAfter);
        Assert.Equal(Encoding.UTF8.GetByteCount(Jsonl), upload.Content.Bytes);
        Assert.Equal(Jsonl, Encoding.UTF8.GetString(_stored[upload.Content.Id]));
        Assert.Empty(_discarded);
    }

    [Fact]
    public async Task Fields_may_come_before_the_file_and_expires_after_sets_the_expiry()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new StringContent("created_at"), "expires_after[anchor]" },
            { new StringContent("7200"), "expires_after[seconds]" },
            { new StringContent("ignored"), "unknown_field" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(Jsonl)), "file", "late.jsonl" },
        };
        var upload = await ReadAsync(form);

        Assert.Equal("late.jsonl", upload.Filename);
        Assert.Equal(TimeSpan.FromHours(2), upload.ExpiresAfter);
    }

    [Theory]
    [InlineData("../../etc/batch.jsonl", "batch.jsonl")]
    [InlineData("folder/", "upload.jsonl")]
    public async Task Only_the_last_segment_of_the_client_filename_is_kept(string sent, string kept)
    {
        using var form = Form(filename: sent);
        Assert.Equal(kept, (await ReadAsync(form)).Filename);
    }

    [Fact]
    public async Task A_filename_longer_than_512_characters_is_cut_to_512()
    {
        using var form = Form(filename: new string('n', 600) + ".jsonl");
        Assert.Equal(new string('n', FileUploadReader.MaxFilenameLength), (await ReadAsync(form)).Filename);
    }

    [Fact]
    public async Task A_form_without_a_file_part_is_a_400_missing_file_and_stores_nothing()
    {
        using var form = Form(file: null);
        // A part named file without a filename is a field, not a file.
        form.Add(new StringContent(Jsonl), "file");
        var error = await RefusedAsync(form);

        Assert.Equal((400, "missing_required_parameter", "file"), (error.Status, error.Code, error.Param));
        Assert.Empty(_stored);
    }

    [Fact]
    public async Task A_form_without_purpose_is_a_400_missing_purpose_and_discards_the_stored_file()
    {
        using var form = Form(purpose: null);
        var error = await RefusedAsync(form);

        Assert.Equal((400, "missing_required_parameter", "purpose"), (error.Status, error.Code, error.Param));
        Assert.Equal(_stored.Keys, _discarded);
    }

    [Fact]
    public async Task A_purpose_other_than_batch_is_a_400_naming_purpose_and_discards_the_stored_file()
    {
        using var form = Form(purpose: "fine-tune");
        var error = await RefusedAsync(form);

        Assert.Equal((400, "invalid_value", "purpose"), (error.Status, error.Code, error.Param));
        Assert.Contains("'fine-tune'", error.Message, StringComparison.Ordinal);
        Assert.Single(_discarded);
    }

    [Fact]
    public async Task Invalid_expires_after_after_the_file_is_a_400_naming_the_field_and_discards_the_stored_file()
    {
        using var form = Form();
        form.Add(new StringContent("created_at"), "expires_after[anchor]");
        form.Add(new StringContent("60"), "expires_after[seconds]");
        var error = await RefusedAsync(form);

        Assert.Equal("expires_after[seconds]", error.Param);
        Assert.Single(_discarded);
    }

    [Fact]
    public async Task A_second_file_part_is_refused_before_it_is_stored_and_the_first_is_discarded()
    {
        using var form = Form();
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(Jsonl)), "file", "second.jsonl");
        var error = await RefusedAsync(form);

        Assert.Equal((400, "invalid_value", "file"), (error.Status, error.Code, error.Param));
        Assert.Single(_stored);
        Assert.Equal(_stored.Keys, _discarded);
    }

    [Fact]
    public async Task A_field_of_more_than_1024_bytes_is_refused_naming_it()
    {
        using var form = Form(purpose: new string('b', FileUploadReader.MaxFieldLength + 1));
        var error = await RefusedAsync(form);

        Assert.Equal((400, "invalid_value", "purpose"), (error.Status, error.Code, error.Param));
        Assert.Single(_discarded);
    }

    [Fact]
    public async Task A_field_of_exactly_1024_bytes_is_read_whole()
    {
        using var form = Form(purpose: new string('b', FileUploadReader.MaxFieldLength));
        var error = await RefusedAsync(form);

        // Read whole, it is simply not "batch".
        Assert.Contains(new string('b', FileUploadReader.MaxFieldLength), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_part_past_the_limit_is_a_413_file_too_large_and_leaves_nothing_stored()
    {
        using var form = Form(file: new string('x', (int)MaxFileBytes + 1));
        var error = await RefusedAsync(form);

        Assert.Equal((413, "file_too_large", "file"), (error.Status, error.Code, error.Param));
        Assert.Contains("4096 bytes", error.Message, StringComparison.Ordinal);
        Assert.Empty(_stored);
        Assert.Empty(_discarded);
    }

    [Fact]
    public async Task A_file_part_of_exactly_the_limit_is_stored()
    {
        using var form = Form(file: new string('x', (int)MaxFileBytes));
        Assert.Equal(MaxFileBytes, (await ReadAsync(form)).Content.Bytes);
    }

    [Fact]
    public async Task A_part_past_the_file_limit_and_the_framing_allowance_is_a_400_invalid_multipart()
    {
        // A part nobody reads is still bounded while it is skipped.
        using var form = Form();
        form.Add(new ByteArrayContent(new byte[FileUploadReader.MaxBodyBytes(MaxFileBytes) + 1]), "padding");
        var error = await RefusedAsync(form);

        Assert.Equal((400, "invalid_multipart"), (error.Status, error.Code));
        Assert.Single(_discarded);
    }

    [Fact]
    public async Task A_part_with_broken_headers_is_a_400_invalid_multipart()
    {
        const string Body = "--b\r\nContent-Disposition form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b--\r\n";
        var error = await Assert.ThrowsAsync<ApiException>(() => ReadAsync("b", Body));

        Assert.Equal((400, "invalid_multipart"), (error.Status, error.Code));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not multipart at all")]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbat")]
    [InlineData("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n{\"custom_id\":")]
    public async Task A_body_that_ends_before_its_closing_boundary_is_a_400_invalid_multipart(string body)
    {
        var error = await Assert.ThrowsAsync<ApiException>(() => ReadAsync("b", body));

        Assert.Equal((400, "invalid_multipart"), (error.Status, error.Code));
        Assert.Empty(_stored);
    }

    [Fact]
    public async Task A_body_that_ends_after_the_stored_file_but_before_its_closing_boundary_discards_the_file()
    {
        const string Body =
            "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n" + Jsonl + "\r\n--b\r\n";
        var error = await Assert.ThrowsAsync<ApiException>(() => ReadAsync("b", Body));

        Assert.Equal((400, "invalid_multipart"), (error.Status, error.Code));
        Assert.Equal(_stored.Keys, _discarded);
    }

    [Fact]
    public async Task A_body_whose_connection_breaks_is_not_mistaken_for_one_cut_short()
    {
        using var broken = new BrokenStream(Encoding.UTF8.GetBytes("--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbat"));
        var error = await Assert.ThrowsAsync<IOException>(() =>
            FileUploadReader.ReadAsync(broken, "b", MaxFileBytes, StoreAsync, DiscardAsync, CancellationToken.None));

        Assert.Equal("connection reset", error.Message);
    }

    /// <summary>A body that delivers its bytes, then fails every read the way a reset connection does.</summary>
    private sealed class BrokenStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => Position < Length ? base.Read(buffer, offset, count) : throw new IOException("connection reset");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position < Length ? base.ReadAsync(buffer, cancellationToken) : throw new IOException("connection reset");

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    [Fact]
    public async Task Parts_without_a_content_disposition_are_skipped()
    {
        const string Body =
            "--b\r\nContent-Type: text/plain\r\n\r\nstray\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\r\n" + Jsonl + "\r\n" +
            "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n batch \r\n--b--\r\n";
        var upload = await ReadAsync("b", Body);

        Assert.Equal(("in.jsonl", "batch"), (upload.Filename, upload.Purpose));
        Assert.Equal(Jsonl, Encoding.UTF8.GetString(_stored[upload.Content.Id]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("multipart/form-data")]
    [InlineData("multipart/mixed; boundary=b")]
    [InlineData("not a media type")]
    public void A_content_type_other_than_multipart_form_data_with_a_boundary_is_a_415(string? contentType)
    {
        var error = Assert.Throws<ApiException>(() => FileUploadReader.Boundary(contentType));
        Assert.Equal((415, "unsupported_media_type"), (error.Status, error.Code));
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=abc", "abc")]
    [InlineData("Multipart/Form-Data; boundary=\"a b:c\"", "a b:c")]
    public void The_boundary_is_read_from_the_content_type_without_its_quotes(string contentType, string boundary)
    {
        Assert.Equal(boundary, FileUploadReader.Boundary(contentType));
    }
}
