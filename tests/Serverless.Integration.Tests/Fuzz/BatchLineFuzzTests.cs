using System.Text;
using Serverless.Integration.Tests.Batches;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Fuzz;

/// <summary>A bad line of a batch is that line's error, never the batch's: mutated lines beside good ones.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class BatchLineFuzzTests(ServiceFixture service)
{
    [Theory]
    [InlineData("/v1/completions")]
    [InlineData("/v1/chat/completions")]
    public async Task A_batch_of_mutated_lines_completes_with_each_bad_line_as_its_own_error(string endpoint)
    {
        var mutator = new JsonMutator(endpoint.Length * 7919);
        var lines = new List<byte[]>();
        int good = 0;
        for (int i = 0; i < 60; i++)
        {
            string seed = endpoint == "/v1/completions" ? BatchCalls.CompletionLine($"line-{i}", 1) : BatchCalls.ChatLine($"line-{i}", 1);
            if (i % 3 == 0)
            {
                lines.Add(Encoding.UTF8.GetBytes(seed));
                good++;
            }
            else
            {
                // A mutated line must stay one line of the file: newlines in it would make two.
                lines.Add([.. mutator.Mutate(seed).Where(b => b is not (byte)'\n' and not (byte)'\r')]);
            }
        }

        using var client = service.CreateClient();
        string file = await client.UploadAsync([.. lines.SelectMany(line => line.Append((byte)'\n'))]);
        var created = await client.CreateBatchAsync(file, endpoint);
        var batch = await client.WaitUntilDoneAsync(created.GetProperty("id").GetString()!, TimeSpan.FromMinutes(3));

        Assert.Equal("completed", BatchCalls.Status(batch));
        var (total, completed, failed) = BatchCalls.Counts(batch);
        Assert.Equal(lines.Count, total);
        Assert.Equal(total, completed + failed);
        Assert.True(completed >= good, $"{completed} lines completed, fewer than the {good} unmutated ones");

        // Every failed line is in the error file with an error of its own; none is a server error.
        var errors = await client.ReadFileLinesAsync(batch.OptionalString("error_file_id"));
        Assert.Equal(failed, errors.Count);
        foreach (var error in errors)
        {
            var body = error.GetProperty("response").ValueKind == System.Text.Json.JsonValueKind.Object
                ? error.GetProperty("response").GetProperty("status_code").GetInt32()
                : 400;
            Assert.InRange(body, 400, 499);
        }
    }
}
