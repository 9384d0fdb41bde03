using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Jobs;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Batches;

/// <summary>A batch that outlives its completion window, and files over the upload limit (see <see cref="ShortWindowServiceFixture"/>).</summary>
[Collection(ShortWindowServiceTestGroup.Name)]
public sealed class BatchLimitTests(ShortWindowServiceFixture service)
{
    [Fact]
    public async Task A_batch_that_outlives_its_completion_window_expires_with_the_lines_it_did_not_run_as_batch_expired_errors()
    {
        using var client = service.CreateClient();
        const int Lines = 64;
        // Far more generation than the window holds: 64 lines of 400 tokens, 4 at a time.
        var lines = Enumerable.Range(0, Lines).Select(i => BatchCalls.CompletionLine($"e{i}", 400)).ToList();
        var created = await client.CreateBatchAsync(await client.UploadAsync(lines));
        string batchId = created.GetProperty("id").GetString()!;
        Assert.Equal(created.GetProperty("created_at").GetInt64() + (long)ShortWindowServiceFixture.Window.TotalSeconds, created.GetProperty("expires_at").GetInt64());

        var batch = await client.WaitUntilDoneAsync(batchId);
        Assert.Equal("expired", BatchCalls.Status(batch));
        Assert.True(batch.GetProperty("expired_at").GetInt64() >= batch.GetProperty("expires_at").GetInt64());
        var (total, completed, failed) = BatchCalls.Counts(batch);
        Assert.Equal(Lines, total);
        Assert.Equal(0, failed);
        Assert.True(completed < Lines, "Every line ran within the window; the test needs more work per batch.");

        var outputs = await client.ReadFileLinesAsync(batch.OptionalString("output_file_id"));
        var errors = await client.ReadFileLinesAsync(batch.OptionalString("error_file_id"));
        Assert.Equal(completed, outputs.Count);
        Assert.Equal(Lines - completed, errors.Count);
        Assert.All(errors, e => Assert.Equal(BatchLines.ExpiredCode, e.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(
            Enumerable.Range(0, Lines).Select(i => $"e{i}").Order(),
            outputs.Concat(errors).Select(l => l.GetProperty("custom_id").GetString()!).Order());

        await using var db = service.Database();
        var records = await db.Set<UsageRecord>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync();
        Assert.Equal(outputs.Select(o => o.GetProperty("response").GetProperty("request_id").GetString()).Order(), records.Select(r => r.RequestId).Order());
        Assert.Empty(await db.Set<Reservation>().AsNoTracking().Where(r => r.BatchId == batchId).ToListAsync());
    }

    [Fact]
    public async Task An_upload_over_the_size_limit_is_refused_with_413_and_leaves_no_file()
    {
        var key = await service.CreateKeyAsync("big-files-co");
        using var client = service.CreateClient(key.Key);
        var line = Encoding.UTF8.GetBytes(BatchCalls.CompletionLine("big", 1) + "\n");
        var content = Enumerable.Repeat(line, (int)(ShortWindowServiceFixture.UploadLimit / line.Length) + 10).SelectMany(l => l).ToArray();

        using (var response = await client.UploadRawAsync(content))
        {
            var error = await response.ReadErrorAsync(413);
            Assert.Equal("file_too_large", error.GetProperty("code").GetString());
            Assert.Contains(ShortWindowServiceFixture.UploadLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using (var list = await client.GetAsync("/v1/files"))
        {
            Assert.Empty((await list.ReadJsonAsync()).GetProperty("data").EnumerateArray());
        }

        using var fits = await client.UploadRawAsync(content.AsSpan(0, (int)ShortWindowServiceFixture.UploadLimit).ToArray());
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }
}
