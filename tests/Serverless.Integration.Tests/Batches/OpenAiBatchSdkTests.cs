using System.ClientModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;
using Serverless.Integration.Tests.Fixtures;

// The SDK marks its batch client (and parts of the file client) experimental; using them is the point of this test.
#pragma warning disable OPENAI001

namespace Serverless.Integration.Tests.Batches;

/// <summary>The official OpenAI .NET SDK through the whole Batch API: upload, create, poll, download.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class OpenAiBatchSdkTests(ServiceFixture service)
{
    private OpenAIClientOptions Options => new() { Endpoint = new Uri(service.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromMinutes(1) };

    [Fact]
    public async Task The_sdk_uploads_a_file_creates_a_batch_polls_it_and_downloads_the_output_and_error_files()
    {
        var files = new OpenAIFileClient(new ApiKeyCredential(service.ApiKey), Options);
        var batches = new BatchClient(new ApiKeyCredential(service.ApiKey), new BatchClientOptions { Endpoint = new Uri(service.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromMinutes(1) });
        string[] lines =
        [
            BatchCalls.ChatLine("first", 6),
            BatchCalls.ChatLine("second", 7),
            BatchCalls.ChatLine("third", 8),
            BatchCalls.ChatLine("too-hot", 8).Replace("\"temperature\":0", "\"temperature\":7", StringComparison.Ordinal),
        ];

        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(string.Join('\n', lines)), "requests.jsonl", FileUploadPurpose.Batch);
        Assert.StartsWith("file-", file.Id, StringComparison.Ordinal);
        Assert.Equal(FilePurpose.Batch, file.Purpose);
        Assert.Equal("requests.jsonl", file.Filename);
        Assert.Equal(Encoding.UTF8.GetByteCount(string.Join('\n', lines)), file.SizeInBytes);

        var request = BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            input_file_id = file.Id,
            endpoint = "/v1/chat/completions",
            completion_window = "24h",
            metadata = new Dictionary<string, string> { ["job"] = "sdk" },
        }));
        CreateBatchOperation operation = await batches.CreateBatchAsync(request, waitUntilCompleted: false);
        Assert.StartsWith("batch_", operation.BatchId, StringComparison.Ordinal);

        var waited = Stopwatch.StartNew();
        while (!operation.HasCompleted)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "The batch did not finish within a minute.");
            await Task.Delay(100);
            await operation.UpdateStatusAsync();
        }

        using var batch = JsonDocument.Parse((await operation.GetBatchAsync(null)).GetRawResponse().Content);
        var root = batch.RootElement;
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.Equal("batch", root.GetProperty("object").GetString());
        Assert.Equal("sdk", root.GetProperty("metadata").GetProperty("job").GetString());
        Assert.Equal((4, 3, 1), BatchCalls.Counts(root));

        BinaryData output = await files.DownloadFileAsync(root.GetProperty("output_file_id").GetString()!);
        var outputs = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["first", "second", "third"], outputs.Select(o => o.GetProperty("custom_id").GetString()));
        foreach (var line in outputs)
        {
            var response = line.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            Assert.Equal("chat.completion", response.GetProperty("body").GetProperty("object").GetString());
            Assert.False(string.IsNullOrEmpty(response.GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
        }

        BinaryData errors = await files.DownloadFileAsync(root.GetProperty("error_file_id").GetString()!);
        var error = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement));
        Assert.Equal("too-hot", error.GetProperty("custom_id").GetString());
        Assert.Equal(400, error.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal("temperature", error.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("param").GetString());

        OpenAIFile outputFile = await files.GetFileAsync(root.GetProperty("output_file_id").GetString()!);
        Assert.Equal(FilePurpose.BatchOutput, outputFile.Purpose);
        OpenAIFileCollection mine = await files.GetFilesAsync();
        Assert.Contains(mine, f => f.Id == file.Id);
        FileDeletionResult deleted = await files.DeleteFileAsync(file.Id);
        Assert.True(deleted.Deleted);
    }
}
