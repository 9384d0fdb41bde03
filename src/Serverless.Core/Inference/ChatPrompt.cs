using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;
using Serverless.Core.Http;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>Turns chat messages into prompt tokens through the model's own chat template.</summary>
public static class ChatPrompt
{
    public static int[] Build(LoadedModel model, IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        return model.Encode(Render(model, messages));
    }

    public static string Render(LoadedModel model, IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        if (model.ChatTemplate is null)
        {
            return RenderPlain(messages);
        }

        string json = ToJson(messages);
        try
        {
            return model.Tokenizer.ApplyChatTemplate(model.ChatTemplate, json, null, true);
        }
        catch (OnnxRuntimeGenAIException ex)
        {
            // Templates may refuse a conversation (for example one without a user turn); that is the caller's input.
            throw ApiException.BadRequest($"The messages could not be formatted with the chat template of '{model.Id}': {ex.Message}", "messages");
        }
    }

    // Models without a template still get an unambiguous transcript that ends on the assistant's turn.
    private static string RenderPlain(IReadOnlyList<ChatMessage> messages)
    {
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            text.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        return text.Append("assistant:").ToString();
    }

    private static string ToJson(IReadOnlyList<ChatMessage> messages)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role);
                json.WriteString("content", message.Content);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
