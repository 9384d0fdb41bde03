namespace Serverless.Core.Inference;

/// <summary>What response_format asks of the whole output: one JSON object, or a value valid against a schema.</summary>
/// <param name="Kind"><c>json_object</c> or <c>json_schema</c>.</param>
/// <param name="Name">The schema's name (json_schema), for errors.</param>
/// <param name="Schema">The JSON schema the output follows, as JSON text; <c>{"type":"object"}</c> for json_object.</param>
public sealed record OutputFormat(string Kind, string? Name, string Schema)
{
    public const string JsonObject = "json_object";
    public const string JsonSchema = "json_schema";

    public static OutputFormat AnyObject { get; } = new(JsonObject, null, """{"type":"object"}""");
}

/// <summary>A function the model may call, as the request declared it.</summary>
/// <param name="Parameters">The JSON schema of its arguments, as JSON text (an empty object schema when none was given).</param>
public sealed record ToolDefinition(string Name, string? Description, string Parameters, bool Strict);

public enum ToolChoice
{
    /// <summary>The model answers in text; the tools are shown to it but never called.</summary>
    None,

    /// <summary>The model chooses between text and calls.</summary>
    Auto,

    /// <summary>The model calls one or more of the tools.</summary>
    Required,

    /// <summary>The model calls the one named tool.</summary>
    Named,
}

/// <summary>The tools of a chat request and how the model may use them.</summary>
public sealed record ToolSet(IReadOnlyList<ToolDefinition> Tools, ToolChoice Choice, string? NamedTool, bool ParallelCalls)
{
    /// <summary>The tools a call may name under the choice: all of them, or the named one.</summary>
    public IEnumerable<ToolDefinition> Callable => Choice switch
    {
        ToolChoice.None => [],
        ToolChoice.Named => Tools.Where(t => t.Name == NamedTool),
        _ => Tools,
    };

    public bool MayCall => Choice != ToolChoice.None;

    /// <summary>Whether the output is calls only (required or named), so nothing of it is text to stream.</summary>
    public bool MustCall => Choice is ToolChoice.Required or ToolChoice.Named;

    /// <summary>A named choice is one call of that function, as OpenAI makes it.</summary>
    public bool MustCallOne => Choice == ToolChoice.Named;
}

/// <summary>A call the model made (or an assistant message of the conversation carried): <paramref name="Arguments"/> is JSON text.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);
