using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntimeGenAI;
using Serverless.Core.Http;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// Turns chat messages into prompt tokens through the model's own chat template. Tools go to templates that declare
/// tool calling (their <c>tools</c> variable: Qwen, Llama 3.1+, Phi-4-mini); for any other model they are described
/// in a system message, and earlier calls and their results are written into the turns in the model's call syntax.
/// </summary>
public static class ChatPrompt
{
    public static int[] Build(LoadedModel model, ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        return model.Encode(Render(model, request.Messages, request.Options.Tools));
    }

    public static string Render(LoadedModel model, IReadOnlyList<ChatMessage> messages, ToolSet? tools = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        var syntax = ToolCallSyntax.For(model);
        bool templateTakesTools = model.ChatTemplate?.Contains("tools", StringComparison.Ordinal) == true;
        if (!templateTakesTools)
        {
            messages = InlineTools(messages, tools, syntax);
        }

        if (model.ChatTemplate is null)
        {
            return RenderPlain(messages);
        }

        try
        {
            string? toolsJson = templateTakesTools && tools is not null ? ToolsJson(tools) : null;
            return model.Tokenizer.ApplyChatTemplate(model.ChatTemplate, MessagesJson(messages), toolsJson, true);
        }
        catch (OnnxRuntimeGenAIException ex)
        {
            // Templates may refuse a conversation (for example one without a user turn); that is the caller's input.
            throw ApiException.BadRequest($"The messages could not be formatted with the chat template of '{model.Id}': {ex.Message}", "messages");
        }
    }

    /// <summary>Characters the rendered prompt adds for the tools and calls, for the cheap length check before tokenizing.</summary>
    public static long ToolCharacters(ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long characters = request.Options.Tools?.Tools.Sum(t => (long)t.Name.Length + (t.Description?.Length ?? 0) + t.Parameters.Length) ?? 0;
        return characters + request.Messages.Sum(m => m.ToolCalls.Sum(c => (long)c.Name.Length + c.Arguments.Length));
    }

    // For templates that know nothing of tools: the tools and how to call them in a system message, earlier calls in
    // the assistant's text, and tool results as user turns the model can read.
    private static IReadOnlyList<ChatMessage> InlineTools(IReadOnlyList<ChatMessage> messages, ToolSet? tools, ToolCallSyntax syntax)
    {
        var list = new List<ChatMessage>(messages.Count + 1);
        if (tools is { MayCall: true })
        {
            list.Add(new ChatMessage("system",
                $"You can call these functions: {ToolsJson(tools)}. To call one, answer with {syntax.Start}{{\"name\": <function name>, \"arguments\": <arguments object>}}{syntax.End}."));
        }

        foreach (var message in messages)
        {
            if (message.ToolCalls.Count > 0)
            {
                list.Add(new ChatMessage(message.Role, message.Content + string.Concat(message.ToolCalls.Select(syntax.Write))));
            }
            else if (message.Role == "tool")
            {
                list.Add(new ChatMessage("user", $"<tool_response id=\"{message.ToolCallId}\">{message.Content}</tool_response>"));
            }
            else
            {
                list.Add(message);
            }
        }

        return list;
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

    private static string MessagesJson(IReadOnlyList<ChatMessage> messages) => Json(json =>
    {
        json.WriteStartArray();
        foreach (var message in messages)
        {
            json.WriteStartObject();
            json.WriteString("role", message.Role);
            json.WriteString("content", message.Content);
            if (message.ToolCalls.Count > 0)
            {
                // Templates read the arguments as an object (Qwen's "tool_call.arguments | tojson").
                json.WriteStartArray("tool_calls");
                foreach (var call in message.ToolCalls)
                {
                    json.WriteStartObject();
                    json.WriteString("id", call.Id);
                    json.WriteString("type", "function");
                    json.WriteStartObject("function");
                    json.WriteString("name", call.Name);
                    json.WritePropertyName("arguments");
                    WriteArguments(json, call.Arguments);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            if (message.ToolCallId is { } id)
            {
                json.WriteString("tool_call_id", id);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    private static string ToolsJson(ToolSet tools) => Json(json =>
    {
        json.WriteStartArray();
        foreach (var tool in tools.Tools)
        {
            json.WriteStartObject();
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", tool.Name);
            if (tool.Description is { } description)
            {
                json.WriteString("description", description);
            }

            json.WritePropertyName("parameters");
            json.WriteRawValue(tool.Parameters);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    });

    // Arguments a client sent as text may not be JSON; a template then gets them as the string they are.
    private static void WriteArguments(Utf8JsonWriter json, string arguments)
    {
        try
        {
            using var parsed = JsonDocument.Parse(arguments);
            parsed.RootElement.WriteTo(json);
        }
        catch (JsonException)
        {
            json.WriteStringValue(arguments);
        }
    }

    private static string Json(Action<Utf8JsonWriter> write) => JsonText.Write(write);
}
