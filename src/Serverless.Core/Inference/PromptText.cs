using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// A request's prompt before it is tokenized: its length in characters, known for free, and how to tokenize it
/// with a model. The length lets a prompt that no context could hold be refused before any tokenizing is paid for.
/// </summary>
/// <param name="Characters">Characters of the text to tokenize (0 for a prompt of token ids).</param>
/// <param name="Param">The request field an error about the prompt names.</param>
public sealed record PromptText(long Characters, string Param, Func<LoadedModel, int[]> Tokenize)
{
    public static PromptText Chat(ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long characters = ChatPrompt.ToolCharacters(request);
        foreach (var message in request.Messages)
        {
            characters += message.Content.Length;
        }

        return new PromptText(characters, "messages", model => ChatPrompt.Build(model, request));
    }

    public static PromptText Completion(CompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new PromptText(request.Prompt?.Length ?? 0, "prompt", model => CompletionService.PromptTokens(model, request));
    }
}
