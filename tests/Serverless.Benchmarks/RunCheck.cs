namespace Serverless.Benchmarks;

/// <summary>
/// Keeps the comparison fair: every run, raw or through the service, must have had the same prompt tokens,
/// produced exactly max_tokens tokens and, greedy being deterministic, the very same text.
/// </summary>
internal sealed class RunCheck(GenerationRun reference, int maxTokens)
{
    public void Verify(string what, GenerationRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.CompletionTokens != maxTokens)
        {
            throw new InvalidOperationException($"{what}: {run.CompletionTokens} completion tokens instead of {maxTokens}; the counts must match for the comparison to hold.");
        }

        if (run.PromptTokens != reference.PromptTokens)
        {
            throw new InvalidOperationException($"{what}: {run.PromptTokens} prompt tokens instead of {reference.PromptTokens}.");
        }

        if (!string.Equals(run.Text, reference.Text, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{what}: the text differs from the raw loop's, so the two did not do the same work.\nraw:  {reference.Text}\nthis: {run.Text}");
        }
    }
}
