using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Core.Http;

namespace Serverless.Core.Inference;

/// <summary>Turns request JSON into validated requests; every rejection names the parameter at fault.</summary>
public static class GenerationRequestParser
{
    public const int MaxStopSequences = 4;

    /// <summary>OpenAI's limit on the tools of one request.</summary>
    public const int MaxTools = 128;

    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    public static ChatCompletionRequest ParseChat(JsonElement body)
    {
        var options = ParseOptions(body, chat: true);
        if (!JsonFields.TryGet(body, "messages", out var messages))
        {
            throw ApiException.MissingParameter("messages");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.InvalidType("messages", "an array", JsonFields.Describe(messages));
        }

        int count = messages.GetArrayLength();
        if (count == 0)
        {
            throw ApiException.InvalidValue("messages", "'messages' must contain at least one message.");
        }

        var list = new List<ChatMessage>(count);
        int index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            list.Add(ParseMessage(message, index++));
        }

        RejectUnsupported(body, "functions", "'functions' is deprecated and not supported: declare the functions in 'tools' (each {\"type\":\"function\",\"function\":{...}}).");
        RejectUnsupported(body, "function_call", "'function_call' is deprecated and not supported: use 'tool_choice'.");
        CheckToolTurns(list);
        if (options.Format?.Kind == OutputFormat.JsonObject && !list.Exists(m => m.Content.Contains("json", StringComparison.OrdinalIgnoreCase)))
        {
            throw ApiException.InvalidValue("messages", "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.");
        }

        return new ChatCompletionRequest(options with { Tools = ToolParser.Parse(body) }, list);
    }

    public static CompletionRequest ParseCompletion(JsonElement body)
    {
        var options = ParseOptions(body, chat: false);
        if (!JsonFields.TryGet(body, "prompt", out var prompt))
        {
            throw ApiException.MissingParameter("prompt");
        }

        if (JsonFields.OptionalBool(body, "echo") == true)
        {
            throw Unsupported("echo", "'echo' is not supported.");
        }

        if (JsonFields.OptionalString(body, "suffix") is { Length: > 0 })
        {
            throw Unsupported("suffix", "'suffix' (insertion) is not supported.");
        }

        if (JsonFields.OptionalInteger(body, "best_of") is long bestOf && bestOf != 1)
        {
            throw Unsupported("best_of", "'best_of' must be 1: this service returns exactly one choice.");
        }

        if (JsonFields.TryGet(body, "logprobs", out var logprobs) && !(logprobs.ValueKind == JsonValueKind.Number && logprobs.GetDouble() == 0))
        {
            throw Unsupported("logprobs", "'logprobs' is not supported.");
        }

        if (options.Format?.Kind == OutputFormat.JsonObject && !(prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() > 0 && prompt[0].ValueKind == JsonValueKind.Number)
            && !prompt.GetRawText().Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.InvalidValue("prompt", "'prompt' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.");
        }

        RejectUnsupported(body, "tools", "'tools' is only supported on /v1/chat/completions.");
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return new CompletionRequest(options, prompt.GetString()!, null);
            case JsonValueKind.Array:
                return ParseArrayPrompt(options, prompt);
            default:
                throw ApiException.InvalidType("prompt", "a string, an array of one string, or an array of token ids", JsonFields.Describe(prompt));
        }
    }

    private static CompletionRequest ParseArrayPrompt(GenerationRequest options, JsonElement prompt)
    {
        int length = prompt.GetArrayLength();
        if (length == 0)
        {
            throw ApiException.InvalidValue("prompt", "'prompt' must not be an empty array.");
        }

        var first = prompt[0];
        if (first.ValueKind == JsonValueKind.String)
        {
            if (length != 1)
            {
                throw Unsupported("prompt", "Only one prompt per request is supported; send one request per prompt.");
            }

            return new CompletionRequest(options, first.GetString()!, null);
        }

        var tokens = new List<int>(length);
        int i = 0;
        foreach (var item in prompt.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int token) || token < 0)
            {
                throw ApiException.InvalidType(
                    string.Create(CultureInfo.InvariantCulture, $"prompt[{i}]"), "a non-negative integer token id", JsonFields.Describe(item));
            }

            tokens.Add(token);
            i++;
        }

        return new CompletionRequest(options, null, tokens);
    }

    private static GenerationRequest ParseOptions(JsonElement body, bool chat)
    {
        string model = JsonFields.RequiredString(body, "model");
        if (string.IsNullOrWhiteSpace(model))
        {
            throw ApiException.InvalidValue("model", "'model' must not be empty.");
        }

        long? maxTokens = JsonFields.OptionalInteger(body, "max_tokens");
        long? maxCompletionTokens = chat ? JsonFields.OptionalInteger(body, "max_completion_tokens") : null;
        string maxParam = maxCompletionTokens is null ? "max_tokens" : "max_completion_tokens";
        long? max = maxCompletionTokens ?? maxTokens;
        if (max is < 1)
        {
            throw ApiException.InvalidValue(maxParam, string.Create(
                CultureInfo.InvariantCulture, $"Invalid '{maxParam}': {max}. It must be at least 1."));
        }

        double? temperature = JsonFields.OptionalNumber(body, "temperature");
        if (temperature is < 0 or > 2 || (temperature is double t && !double.IsFinite(t)))
        {
            throw ApiException.InvalidValue("temperature", "'temperature' must be between 0 and 2.");
        }

        double? topP = JsonFields.OptionalNumber(body, "top_p");
        if (topP is <= 0 or > 1 || (topP is double p && !double.IsFinite(p)))
        {
            throw ApiException.InvalidValue("top_p", "'top_p' must be greater than 0 and at most 1.");
        }

        long? topK = JsonFields.OptionalInteger(body, "top_k");
        if (topK is < 0 or > 100_000)
        {
            throw ApiException.InvalidValue("top_k", "'top_k' must be between 0 (no limit) and 100000.");
        }

        long? n = JsonFields.OptionalInteger(body, "n");
        if (n is not null and not 1)
        {
            throw Unsupported("n", "'n' must be 1: this service returns exactly one choice per request.");
        }

        foreach (var penalty in new[] { "presence_penalty", "frequency_penalty" })
        {
            if (JsonFields.OptionalNumber(body, penalty) is double value && value != 0)
            {
                throw Unsupported(penalty, $"'{penalty}' is not supported; leave it unset or 0.");
            }
        }

        if (JsonFields.TryGet(body, "logit_bias", out var bias) && bias.ValueKind == JsonValueKind.Object && bias.EnumerateObject().Any())
        {
            throw Unsupported("logit_bias", "'logit_bias' is not supported.");
        }

        var format = ParseResponseFormat(body);

        if (chat && (JsonFields.OptionalBool(body, "logprobs") == true || JsonFields.TryGet(body, "top_logprobs", out _)))
        {
            throw Unsupported("logprobs", "'logprobs' is not supported.");
        }

        bool stream = JsonFields.OptionalBool(body, "stream") ?? false;
        bool includeUsage = false;
        if (JsonFields.TryGet(body, "stream_options", out var streamOptions))
        {
            if (streamOptions.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.InvalidType("stream_options", "an object", JsonFields.Describe(streamOptions));
            }

            if (!stream)
            {
                throw ApiException.InvalidValue("stream_options", "'stream_options' is only allowed when 'stream' is true.");
            }

            includeUsage = JsonFields.OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
        }

        return new GenerationRequest
        {
            Model = model,
            MaxTokens = max is null ? null : (int)Math.Min(max.Value, int.MaxValue),
            Temperature = temperature,
            TopP = topP,
            TopK = topK is null ? null : (int)topK.Value,
            Seed = JsonFields.OptionalInteger(body, "seed"),
            Stop = ParseStop(body),
            Stream = stream,
            IncludeUsage = includeUsage,
            User = JsonFields.OptionalString(body, "user"),
            Format = format,
        };
    }

    private static List<string> ParseStop(JsonElement body)
    {
        if (!JsonFields.TryGet(body, "stop", out var stop))
        {
            return [];
        }

        var list = new List<string>();
        if (stop.ValueKind == JsonValueKind.String)
        {
            list.Add(stop.GetString()!);
        }
        else if (stop.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in stop.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    throw ApiException.InvalidType(
                        string.Create(CultureInfo.InvariantCulture, $"stop[{i}]"), "a string", JsonFields.Describe(item));
                }

                list.Add(item.GetString()!);
                i++;
            }
        }
        else
        {
            throw ApiException.InvalidType("stop", "a string or an array of strings", JsonFields.Describe(stop));
        }

        if (list.Count > MaxStopSequences)
        {
            throw ApiException.InvalidValue("stop", string.Create(CultureInfo.InvariantCulture,
                $"'stop' accepts at most {MaxStopSequences} sequences; got {list.Count}."));
        }

        if (list.Exists(s => s.Length == 0))
        {
            throw ApiException.InvalidValue("stop", "Stop sequences must not be empty strings.");
        }

        return list;
    }

    private static ChatMessage ParseMessage(JsonElement message, int index)
    {
        string path = string.Create(CultureInfo.InvariantCulture, $"messages[{index}]");
        if (message.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType(path, "an object", JsonFields.Describe(message));
        }

        string role = JsonFields.RequiredString(message, "role", path + ".role");
        if (!Roles.Contains(role))
        {
            throw ApiException.InvalidValue(path + ".role",
                $"Invalid value for '{path}.role': '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.");
        }

        IReadOnlyList<ToolCall> toolCalls = role == "assistant" ? ToolParser.ParseMessageCalls(message, path) : [];
        string? toolCallId = role == "tool" ? JsonFields.RequiredString(message, "tool_call_id", path + ".tool_call_id") : null;
        string contentPath = path + ".content";
        if (!JsonFields.TryGet(message, "content", out var content))
        {
            if (role == "assistant")
            {
                return new ChatMessage(role, string.Empty) { ToolCalls = toolCalls };
            }

            throw ApiException.MissingParameter(contentPath);
        }

        string text = content.ValueKind switch
        {
            JsonValueKind.String => content.GetString()!,
            JsonValueKind.Array => JoinTextParts(content, contentPath),
            _ => throw ApiException.InvalidType(contentPath, "a string or an array of content parts", JsonFields.Describe(content)),
        };

        // Developer messages are the newer name for system messages.
        return new ChatMessage(role == "developer" ? "system" : role, text) { ToolCalls = toolCalls, ToolCallId = toolCallId };
    }

    private static string JoinTextParts(JsonElement parts, string path)
    {
        var text = new StringBuilder();
        int i = 0;
        foreach (var part in parts.EnumerateArray())
        {
            string partPath = string.Create(CultureInfo.InvariantCulture, $"{path}[{i}]");
            if (part.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.InvalidType(partPath, "an object", JsonFields.Describe(part));
            }

            string type = JsonFields.RequiredString(part, "type", partPath + ".type");
            if (type != "text")
            {
                throw Unsupported(partPath + ".type", $"Content parts of type '{type}' are not supported; only 'text' is.");
            }

            text.Append(JsonFields.RequiredString(part, "text", partPath + ".text"));
            i++;
        }

        return text.ToString();
    }

    // text (or none): free text. json_object: one JSON object. json_schema: a value valid against the schema, which
    // must use only what constrained decoding enforces (JsonSchemaSupport), whether or not the client set 'strict'.
    private static OutputFormat? ParseResponseFormat(JsonElement body)
    {
        if (!JsonFields.TryGet(body, "response_format", out var format))
        {
            return null;
        }

        if (format.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType("response_format", "an object", JsonFields.Describe(format));
        }

        string kind = JsonFields.RequiredString(format, "type", "response_format.type");
        switch (kind)
        {
            case "text":
                return null;
            case OutputFormat.JsonObject:
                return OutputFormat.AnyObject;
            case OutputFormat.JsonSchema:
                if (!JsonFields.TryGet(format, "json_schema", out var spec))
                {
                    throw ApiException.MissingParameter("response_format.json_schema");
                }

                if (spec.ValueKind != JsonValueKind.Object)
                {
                    throw ApiException.InvalidType("response_format.json_schema", "an object", JsonFields.Describe(spec));
                }

                string name = JsonFields.RequiredString(spec, "name", "response_format.json_schema.name");
                if (!ToolParser.IsValidName(name))
                {
                    throw ApiException.InvalidValue("response_format.json_schema.name", $"'{name}' is not a valid schema name: use 1 to 64 letters, digits, underscores or dashes.");
                }

                JsonFields.OptionalBool(spec, "strict", "response_format.json_schema.strict");
                string schema = JsonFields.TryGet(spec, "schema", out var schemaElement)
                    ? JsonSchemaSupport.Check(schemaElement, "response_format.json_schema.schema")
                    : OutputFormat.AnyObject.Schema;
                return new OutputFormat(OutputFormat.JsonSchema, name, schema);
            default:
                throw ApiException.InvalidValue("response_format.type",
                    $"Invalid value for 'response_format.type': '{kind}'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        }
    }

    // Every tool message answers a call an earlier assistant message made.
    private static void CheckToolTurns(List<ChatMessage> messages)
    {
        var calls = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            foreach (var call in message.ToolCalls)
            {
                calls.Add(call.Id);
            }

            if (message.Role == "tool" && !calls.Contains(message.ToolCallId!))
            {
                throw ApiException.InvalidValue(string.Create(CultureInfo.InvariantCulture, $"messages[{i}].tool_call_id"),
                    $"Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'; no earlier assistant message made the call '{message.ToolCallId}'.");
            }
        }
    }

    private static void RejectUnsupported(JsonElement body, string name, string message)
    {
        if (JsonFields.TryGet(body, name, out var value) && !(value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0))
        {
            throw Unsupported(name, message);
        }
    }

    private static ApiException Unsupported(string param, string message) =>
        ApiException.BadRequest(message, param, "unsupported_parameter");
}
