using System.Text.Json;
using Serverless.Core.Http;
using Serverless.Core.Models;

namespace Serverless.Core.Inference;

/// <summary>
/// How a model writes a tool call in its output: the JSON object <c>{"name": ..., "arguments": {...}}</c> between a
/// start and an end marker. Models whose chat template declares Phi's <c>&lt;|tool_call|&gt;</c> special tokens use
/// those; every other model (Qwen, Hermes-style templates, the demo model) uses <c>&lt;tool_call&gt;</c> text markers.
/// </summary>
public sealed record ToolCallSyntax(string Start, string End, bool SpecialTokens)
{
    public static ToolCallSyntax Tagged { get; } = new("<tool_call>", "</tool_call>", SpecialTokens: false);

    public static ToolCallSyntax PhiSpecialTokens { get; } = new("<|tool_call|>", "<|/tool_call|>", SpecialTokens: true);

    public static ToolCallSyntax For(LoadedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.ChatTemplate?.Contains("<|tool_call|>", StringComparison.Ordinal) == true ? PhiSpecialTokens : Tagged;
    }

    /// <summary>A marker as a Lark expression: a quoted literal, or a special token by name.</summary>
    public string StartRule => SpecialTokens ? Start : Quote(Start);

    public string EndRule => SpecialTokens ? End : Quote(End);

    /// <summary>One call as the model writes it, for conversation turns replayed into a prompt.</summary>
    public string Write(ToolCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return $"{Start}{{\"name\":{Quote(call.Name)},\"arguments\":{call.Arguments}}}{End}";
    }

    /// <summary>
    /// The calls in a finished output, or none when it is text (it does not start with a call, or a call is cut off
    /// or is not a JSON object naming one of <paramref name="tools"/>). Arguments come back as compact JSON text.
    /// </summary>
    public IReadOnlyList<ToolCall> Parse(string output, ToolSet tools)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tools);
        var calls = new List<ToolCall>();
        var rest = output.AsSpan().TrimStart();
        while (rest.StartsWith(Start, StringComparison.Ordinal))
        {
            rest = rest[Start.Length..];
            int end = rest.IndexOf(End, StringComparison.Ordinal);
            if (end < 0 || ParseOne(rest[..end], tools) is not { } call)
            {
                return [];
            }

            calls.Add(call);
            rest = rest[(end + End.Length)..].TrimStart();
        }

        return rest.IsEmpty ? calls : [];
    }

    /// <summary>True while <paramref name="text"/> (so far) may still turn out to be calls rather than an answer in text.</summary>
    public bool MayBeCall(string text)
    {
        var start = text.AsSpan().TrimStart();
        return start.StartsWith(Start, StringComparison.Ordinal) || Start.AsSpan().StartsWith(start, StringComparison.Ordinal);
    }

    private static ToolCall? ParseOne(ReadOnlySpan<char> json, ToolSet tools)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToString());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("arguments", out var arguments) || arguments.ValueKind != JsonValueKind.Object
                || !tools.Callable.Any(t => t.Name == name.GetString()))
            {
                return null;
            }

            return new ToolCall(Ids.New("call_"), name.GetString()!, Compact(arguments));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string as a JSON (and Lark) string literal.</summary>
    public static string Quote(string literal) => Write(json => json.WriteStringValue(literal));

    /// <summary>A JSON value without insignificant white space.</summary>
    public static string Compact(JsonElement value) => Write(value.WriteTo);

    private static string Write(Action<Utf8JsonWriter> write) => JsonText.Write(write, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
}
