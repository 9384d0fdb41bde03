namespace Serverless.Core.Inference;

/// <summary>Which OpenAI response shape a generation is written in.</summary>
public enum CompletionKind
{
    /// <summary>/v1/chat/completions: chat.completion and chat.completion.chunk objects.</summary>
    Chat,

    /// <summary>/v1/completions: text_completion objects.</summary>
    Text,
}
