using System.Text;
using Serverless.Integration.Tests.Batches;

namespace Serverless.Integration.Tests.Dashboard;

/// <summary>The seeded customer's batch jobs, made through the real Batch API and run to their end before any test starts.</summary>
/// <param name="Completed">Four /v1/completions lines, all answered: an output file only.</param>
/// <param name="WithErrors">Three chat lines answered and one for a model that does not exist: an output and an error file.</param>
/// <param name="Failed">An input that is not JSONL: failed in validation, no files.</param>
public sealed record SeededBatches(string Completed, string WithErrors, string Failed)
{
    public IReadOnlyList<string> All => [Completed, WithErrors, Failed];
}

internal static class DashboardBatchSeed
{
    public static async Task<SeededBatches> CreateAsync(HttpClient client)
    {
        string completed = await CreateAsync(client, "/v1/completions", Enumerable.Range(0, 4).Select(i => BatchCalls.CompletionLine($"story-{i}", 6 + i)));
        string withErrors = await CreateAsync(client, "/v1/chat/completions",
        [
            BatchCalls.ChatLine("question-1", 8),
            BatchCalls.ChatLine("question-2", 5, "What is a river?"),
            BatchCalls.ChatLine("no-such-model", 5, model: "no-such-model"),
            BatchCalls.ChatLine("question-3", 7, "And a lake?"),
        ]);
        string inputId = await client.UploadAsync(Encoding.UTF8.GetBytes("custom_id,prompt\na,hello\n"));
        string failed = (await client.CreateBatchAsync(inputId)).GetProperty("id").GetString()!;

        var done = await Task.WhenAll(new[] { completed, withErrors, failed }.Select(id => client.WaitUntilDoneAsync(id, TimeSpan.FromMinutes(2))));
        Assert.Equal(["completed", "completed", "failed"], done.Select(BatchCalls.Status));
        return new SeededBatches(completed, withErrors, failed);
    }

    private static async Task<string> CreateAsync(HttpClient client, string endpoint, IEnumerable<string> lines) =>
        (await client.CreateBatchAsync(await client.UploadAsync(lines), endpoint)).GetProperty("id").GetString()!;
}
