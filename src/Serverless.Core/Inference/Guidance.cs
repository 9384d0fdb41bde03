using System.Text;

namespace Serverless.Core.Inference;

/// <summary>
/// Constrained decoding for one generation, in the terms of ONNX Runtime GenAI's <c>GeneratorParams.SetGuidance</c>
/// (llguidance applies it as a token mask): a JSON schema for response_format, a Lark grammar when tools may be called.
/// </summary>
/// <param name="Type"><c>json_schema</c> or <c>lark_grammar</c>.</param>
public sealed record Guidance(string Type, string Data)
{
    /// <summary>The guidance a request asks for, or null for free text.</summary>
    public static Guidance? For(GenerationRequest request, ToolCallSyntax syntax)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(syntax);
        if (request.Tools is { MayCall: true } tools)
        {
            return new Guidance("lark_grammar", Grammar(tools, request.Format, syntax));
        }

        return request.Format is { } format ? new Guidance("json_schema", format.Schema) : null;
    }

    // required/named: calls only. auto: calls, or an answer (text that does not start like a call, or the
    // response_format's JSON when there is one).
    private static string Grammar(ToolSet tools, OutputFormat? format, ToolCallSyntax syntax)
    {
        var lark = new StringBuilder();
        if (tools.MustCall)
        {
            lark.Append("start: calls\n");
        }
        else
        {
            lark.Append("start: calls | answer\n");
            lark.Append(format is null ? "answer: TEXT\nTEXT: /[^<](.|\\n)*/\n" : $"answer: %json {format.Schema}\n");
        }

        lark.Append(tools.ParallelCalls && !tools.MustCallOne ? "calls: call+\n" : "calls: call\n");
        lark.Append("call: ").Append(syntax.StartRule).Append(" %json ").Append(CallSchema(tools)).Append(' ').Append(syntax.EndRule).Append('\n');
        return lark.ToString();
    }

    // {"name": one of the callable tools, "arguments": that tool's parameters}.
    private static string CallSchema(ToolSet tools)
    {
        var options = tools.Callable.Select(tool =>
            $"{{\"type\":\"object\",\"properties\":{{\"name\":{{\"const\":{ToolCallSyntax.Quote(tool.Name)}}},\"arguments\":{tool.Parameters}}},\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}}")
            .ToList();
        return options.Count == 1 ? options[0] : $"{{\"anyOf\":[{string.Join(',', options)}]}}";
    }
}
