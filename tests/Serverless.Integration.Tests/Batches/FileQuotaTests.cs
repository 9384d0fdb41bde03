using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs.Models;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Files;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Batches;

/// <summary>File quotas, expires_after, the expired-file sweep and bounded batch error files, over HTTP (see <see cref="ShortWindowServiceFixture"/>).</summary>
[Collection(ShortWindowServiceTestGroup.Name)]
public sealed class FileQuotaTests(ShortWindowServiceFixture service)
{
    private static byte[] Jsonl(int bytes)
    {
        var line = Encoding.UTF8.GetBytes(BatchCalls.CompletionLine("q", 1) + "\n");
        return Enumerable.Repeat(line, Math.Max(1, bytes / line.Length)).SelectMany(l => l).ToArray();
    }

    private static async Task<HttpResponseMessage> UploadWithFieldsAsync(HttpClient client, byte[] content, params (string Name, string Value)[] fields)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("batch"), "purpose");
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", "input.jsonl");
        return await client.PostAsync("/v1/files", form);
    }

    private async Task<int> FileBlobsAsync()
    {
        var container = await service.Services.GetRequiredService<FileStore>().ContainerAsync();
        int count = 0;
        await foreach (var _ in container.GetBlobsAsync(new GetBlobsOptions { Prefix = "files/" }))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task Uploads_past_the_byte_or_file_quota_are_refused_with_400_file_quota_exceeded_and_store_nothing()
    {
        var key = await service.CreateKeyAsync("quota-co");
        using var client = service.CreateClient(key.Key);
        int blobsBefore = await FileBlobsAsync();
        var big = Jsonl(60 * 1024);
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add(await client.UploadAsync(big));
        }

        // 3 x ~60 KiB leaves less room than another 60 KiB in 192 KiB: refused while it streams, before it is stored.
        using (var response = await client.UploadRawAsync(big))
        {
            var error = await response.ReadErrorAsync(400);
            Assert.Equal("file_quota_exceeded", error.GetProperty("code").GetString());
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            string message = error.GetProperty("message").GetString()!;
            Assert.Contains($"at most {ShortWindowServiceFixture.MaxFiles} files and {ShortWindowServiceFixture.MaxBytes} bytes", message, StringComparison.Ordinal);
            Assert.Contains(FormattableString.Invariant($"you have 3 files using {3L * big.Length} bytes"), message, StringComparison.Ordinal);
        }

        ids.Add(await client.UploadAsync(Jsonl(100)));
        using (var response = await client.UploadRawAsync(Jsonl(100)))
        {
            var error = await response.ReadErrorAsync(400);
            Assert.Equal("file_quota_exceeded", error.GetProperty("code").GetString());
            Assert.Contains("you have 4 files", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(blobsBefore + 4, await FileBlobsAsync());
        using (var list = await client.GetAsync("/v1/files"))
        {
            Assert.Equal(ids.Order(), (await list.ReadJsonAsync()).GetProperty("data").EnumerateArray().Select(f => f.GetProperty("id").GetString()!).Order());
        }

        using (var deleted = await client.DeleteAsync($"/v1/files/{ids[0]}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        await client.UploadAsync(Jsonl(100));
    }

    [Fact]
    public async Task Expires_after_sets_expires_at_from_created_at_and_out_of_range_seconds_are_refused()
    {
        var key = await service.CreateKeyAsync("expiring-co");
        using var client = service.CreateClient(key.Key);

        using (var response = await UploadWithFieldsAsync(client, Jsonl(100), ("expires_after[anchor]", "created_at"), ("expires_after[seconds]", "3600")))
        {
            var file = await response.ReadJsonAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(file.GetProperty("created_at").GetInt64() + 3600, file.GetProperty("expires_at").GetInt64());
        }

        using (var response = await client.UploadRawAsync(Jsonl(100)))
        {
            var file = await response.ReadJsonAsync();
            Assert.Equal(file.GetProperty("created_at").GetInt64() + (30 * 86400), file.GetProperty("expires_at").GetInt64());
        }

        using (var response = await UploadWithFieldsAsync(client, Jsonl(100), ("expires_after[anchor]", "created_at"), ("expires_after[seconds]", "60")))
        {
            var error = await response.ReadErrorAsync(400);
            Assert.Equal("expires_after[seconds]", error.GetProperty("param").GetString());
            Assert.Contains("3600", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using (var list = await client.GetAsync("/v1/files"))
        {
            Assert.Equal(2, (await list.ReadJsonAsync()).GetProperty("data").GetArrayLength());
        }
    }

    [Fact]
    public async Task An_expired_file_answers_404_and_the_sweeper_deletes_its_record_and_blob()
    {
        var key = await service.CreateKeyAsync("sweep-co");
        using var client = service.CreateClient(key.Key);
        string id = await client.UploadAsync(Jsonl(100));
        var container = await service.Services.GetRequiredService<FileStore>().ContainerAsync();
        Assert.True((await container.GetBlobClient("files/" + id).ExistsAsync()).Value);

        await using (var db = service.Database())
        {
            var past = DateTimeOffset.UtcNow.AddSeconds(-1);
            await db.Set<StoredFile>().Where(f => f.Id == id).ExecuteUpdateAsync(s => s.SetProperty(f => f.ExpiresAt, past));
        }

        using (var response = await client.GetAsync($"/v1/files/{id}"))
        {
            Assert.Equal("file_not_found", (await response.ReadErrorAsync(404)).GetProperty("code").GetString());
        }

        using (var response = await client.GetAsync($"/v1/files/{id}/content"))
        {
            await response.ReadErrorAsync(404);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await using var db = service.Database();
            if (!await db.Set<StoredFile>().AnyAsync(f => f.Id == id))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The sweeper did not delete the expired file's record.");
            await Task.Delay(100);
        }

        Assert.False((await container.GetBlobClient("files/" + id).ExistsAsync()).Value);
    }

    [Fact]
    public async Task A_batch_of_huge_custom_ids_gets_a_short_error_file_with_an_expiry_even_when_the_customer_is_at_its_file_quota()
    {
        var key = await service.CreateKeyAsync("attack-co");
        using var client = service.CreateClient(key.Key);
        string hugeId = new('x', 16 * 1024);
        var lines = Enumerable.Repeat(BatchCalls.ChatLine(hugeId, 1), 3)
            .Append(BatchCalls.ChatLine("dup", 1, model: "no-such-model"))
            .Append(BatchCalls.ChatLine("dup", 1, model: "no-such-model"))
            .Select(l => l.Replace("\"/v1/chat/completions\"", "\"/v1/embeddings\"", StringComparison.Ordinal));
        string input = await client.UploadAsync(lines);
        for (int i = 1; i < ShortWindowServiceFixture.MaxFiles; i++)
        {
            await client.UploadAsync(Jsonl(100));
        }

        var created = await client.CreateBatchAsync(input, "/v1/chat/completions");
        var batch = await client.WaitUntilDoneAsync(created.GetProperty("id").GetString()!);
        Assert.Equal("completed", BatchCalls.Status(batch));
        Assert.Equal((5, 0, 5), BatchCalls.Counts(batch));

        // The error file is the service's own: written although the customer was at its quota, and it expires.
        string errorFileId = batch.OptionalString("error_file_id")!;
        using (var response = await client.GetAsync($"/v1/files/{errorFileId}"))
        {
            var file = await response.ReadJsonAsync();
            Assert.Equal(file.GetProperty("created_at").GetInt64() + (30 * 86400), file.GetProperty("expires_at").GetInt64());
            Assert.True(file.GetProperty("bytes").GetInt64() < 5 * 1024, $"error file of {file.GetProperty("bytes").GetInt64()} bytes");
        }

        var errors = await client.ReadFileLinesAsync(errorFileId);
        Assert.Equal(
            ["custom_id_too_long", "custom_id_too_long", "custom_id_too_long", "invalid_url", "duplicate_custom_id"],
            errors.Select(e => e.GetProperty("error").GetProperty("code").GetString()));
        Assert.All(errors.Take(3), e => Assert.Equal(JsonValueKind.Null, e.GetProperty("custom_id").ValueKind));

        // It counts: the customer now keeps 5 files and the next upload is refused.
        using var refused = await client.UploadRawAsync(Jsonl(100));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"you have {ShortWindowServiceFixture.MaxFiles + 1} files"),
            (await refused.ReadErrorAsync(400)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
