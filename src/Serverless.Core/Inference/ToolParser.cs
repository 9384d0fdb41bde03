using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.Core.Http;

namespace Serverless.Core.Inference;

/// <summary>Reads tools, tool_choice and parallel_tool_calls, and the tool calls of assistant turns, as OpenAI defines them.</summary>
public static partial class ToolParser
{
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    /// <summary>The request's tools, or null when it declared none (then tool_choice and parallel_tool_calls are refused).</summary>
    public static ToolSet? Parse(JsonElement body)
    {
        bool hasTools = JsonFields.TryGet(body, "tools", out var tools);
        if (!hasTools || (tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() == 0))
        {
            if (JsonFields.TryGet(body, "tool_choice", out var choiceWithoutTools) && !(choiceWithoutTools.ValueKind == JsonValueKind.String && choiceWithoutTools.GetString() == "none"))
            {
                throw ApiException.InvalidValue("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
            }

            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.InvalidType("tools", "an array", JsonFields.Describe(tools));
        }

        if (tools.GetArrayLength() > GenerationRequestParser.MaxTools)
        {
            throw ApiException.InvalidValue("tools", string.Create(CultureInfo.InvariantCulture,
                $"'tools' accepts at most {GenerationRequestParser.MaxTools} tools; got {tools.GetArrayLength()}."));
        }

        var list = new List<ToolDefinition>();
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var definition = ParseTool(tool, string.Create(CultureInfo.InvariantCulture, $"tools[{i++}]"));
            if (list.Exists(t => t.Name == definition.Name))
            {
                throw ApiException.InvalidValue("tools", $"Two tools are named '{definition.Name}'; tool names must be unique.");
            }

            list.Add(definition);
        }

        var (choice, named) = ParseChoice(body, list);
        bool parallel = JsonFields.OptionalBool(body, "parallel_tool_calls") ?? true;
        return new ToolSet(list, choice, named, parallel);
    }

    /// <summary>The tool_calls of an assistant message in the conversation.</summary>
    public static IReadOnlyList<ToolCall> ParseMessageCalls(JsonElement message, string path)
    {
        if (!JsonFields.TryGet(message, "tool_calls", out var calls))
        {
            return [];
        }

        string callsPath = path + ".tool_calls";
        if (calls.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.InvalidType(callsPath, "an array", JsonFields.Describe(calls));
        }

        var list = new List<ToolCall>();
        int i = 0;
        foreach (var call in calls.EnumerateArray())
        {
            string at = string.Create(CultureInfo.InvariantCulture, $"{callsPath}[{i++}]");
            if (call.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.InvalidType(at, "an object", JsonFields.Describe(call));
            }

            string id = JsonFields.RequiredString(call, "id", at + ".id");
            RequireFunctionType(call, at);
            if (!JsonFields.TryGet(call, "function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.MissingParameter(at + ".function");
            }

            string name = JsonFields.RequiredString(function, "name", at + ".function.name");
            string arguments = JsonFields.RequiredString(function, "arguments", at + ".function.arguments");
            list.Add(new ToolCall(id, name, arguments));
        }

        return list;
    }

    private static ToolDefinition ParseTool(JsonElement tool, string path)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType(path, "an object", JsonFields.Describe(tool));
        }

        RequireFunctionType(tool, path);
        if (!JsonFields.TryGet(tool, "function", out var function))
        {
            throw ApiException.MissingParameter(path + ".function");
        }

        if (function.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType(path + ".function", "an object", JsonFields.Describe(function));
        }

        string name = JsonFields.RequiredString(function, "name", path + ".function.name");
        if (!IsValidName(name))
        {
            throw ApiException.InvalidValue(path + ".function.name",
                $"Invalid '{path}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.");
        }

        string? description = JsonFields.OptionalString(function, "description", path + ".function.description");
        bool strict = JsonFields.OptionalBool(function, "strict", path + ".function.strict") ?? false;
        string parameters = JsonFields.TryGet(function, "parameters", out var schema)
            ? JsonSchemaSupport.Check(schema, path + ".function.parameters")
            : """{"type":"object","properties":{}}""";
        return new ToolDefinition(name, description, parameters, strict);
    }

    private static (ToolChoice Choice, string? Named) ParseChoice(JsonElement body, List<ToolDefinition> tools)
    {
        if (!JsonFields.TryGet(body, "tool_choice", out var choice))
        {
            return (ToolChoice.Auto, null);
        }

        if (choice.ValueKind == JsonValueKind.String)
        {
            return choice.GetString() switch
            {
                "none" => (ToolChoice.None, null),
                "auto" => (ToolChoice.Auto, null),
                "required" => (ToolChoice.Required, null),
                var other => throw ApiException.InvalidValue("tool_choice",
                    $"Invalid value for 'tool_choice': '{other}'. Supported values are: 'none', 'auto', 'required', or an object naming a function."),
            };
        }

        if (choice.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType("tool_choice", "a string or an object", JsonFields.Describe(choice));
        }

        RequireFunctionType(choice, "tool_choice");
        if (!JsonFields.TryGet(choice, "function", out var function) || function.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.MissingParameter("tool_choice.function");
        }

        string name = JsonFields.RequiredString(function, "name", "tool_choice.function.name");
        if (!tools.Exists(t => t.Name == name))
        {
            throw ApiException.InvalidValue("tool_choice.function.name",
                $"Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' parameter.");
        }

        return (ToolChoice.Named, name);
    }

    private static void RequireFunctionType(JsonElement item, string path)
    {
        string type = JsonFields.RequiredString(item, "type", path + ".type");
        if (type != "function")
        {
            throw ApiException.InvalidValue(path + ".type", $"Invalid value for '{path}.type': '{type}'. The only supported value is 'function'.");
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
