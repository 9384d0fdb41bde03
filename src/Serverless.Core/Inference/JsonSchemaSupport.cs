using System.Globalization;
using System.Text.Json;
using Serverless.Core.Http;

namespace Serverless.Core.Inference;

/// <summary>
/// The JSON Schema subset constrained decoding enforces (llguidance, inside ONNX Runtime GenAI). A schema using anything
/// else is refused with a 400 naming the keyword and where it is, so a client never gets output that is silently
/// weaker than its schema.
/// </summary>
public static class JsonSchemaSupport
{
    /// <summary>Largest schema text accepted (response_format, or one tool's parameters).</summary>
    public const int MaxSchemaBytes = 64 * 1024;

    /// <summary>Deepest nesting of schemas accepted.</summary>
    public const int MaxDepth = 16;

    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly",
    };

    private static readonly HashSet<string> Types = new(StringComparer.Ordinal) { "object", "array", "string", "number", "integer", "boolean", "null" };

    private static readonly HashSet<string> Formats = new(StringComparer.Ordinal)
    {
        "date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid",
    };

    private static readonly HashSet<string> Counts = new(StringComparer.Ordinal) { "minItems", "maxItems", "minLength", "maxLength" };

    private static readonly HashSet<string> Bounds = new(StringComparer.Ordinal) { "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum" };

    /// <summary>Checks a schema and returns its JSON text; <paramref name="param"/> is the request field errors name.</summary>
    public static string Check(JsonElement schema, string param)
    {
        string text = schema.GetRawText();
        if (System.Text.Encoding.UTF8.GetByteCount(text) > MaxSchemaBytes)
        {
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture,
                $"The schema in '{param}' is larger than {MaxSchemaBytes} bytes; send a smaller one."), param, "schema_too_large");
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidType(param, "a JSON schema object", JsonFields.Describe(schema));
        }

        CheckNode(schema, param, "#", 0);
        return text;
    }

    private static void CheckNode(JsonElement node, string param, string path, int depth)
    {
        if (node.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return;
        }

        if (node.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(param, path, $"a schema must be an object or a boolean, not {JsonFields.Describe(node)}");
        }

        if (depth > MaxDepth)
        {
            throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture,
                $"The schema in '{param}' nests deeper than {MaxDepth} levels (at {path})."), param, "schema_too_large");
        }

        foreach (var keyword in node.EnumerateObject())
        {
            string at = $"{path}/{keyword.Name}";
            var value = keyword.Value;
            switch (keyword.Name)
            {
                case var annotation when Annotations.Contains(annotation):
                    break;
                case "type":
                    CheckType(value, param, at);
                    break;
                case "properties" or "$defs" or "definitions":
                    ForEachMember(value, param, at, (member, memberPath) => CheckNode(member, param, memberPath, depth + 1));
                    break;
                case "additionalProperties" or "items":
                    CheckNode(value, param, at, depth + 1);
                    break;
                case "prefixItems" or "anyOf" or "allOf":
                    ForEachItem(value, param, at, (item, itemPath) => CheckNode(item, param, itemPath, depth + 1));
                    break;
                case "required":
                    ForEachItem(value, param, at, (item, itemPath) =>
                    {
                        if (item.ValueKind != JsonValueKind.String)
                        {
                            throw Invalid(param, itemPath, "'required' lists property names (strings)");
                        }
                    });
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        throw Invalid(param, at, "'enum' must be a non-empty array");
                    }

                    break;
                case "const":
                    break;
                case var count when Counts.Contains(count):
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long n) || n < 0)
                    {
                        throw Invalid(param, at, $"'{count}' must be a non-negative integer");
                    }

                    break;
                case var bound when Bounds.Contains(bound):
                    if (value.ValueKind != JsonValueKind.Number)
                    {
                        throw Invalid(param, at, $"'{bound}' must be a number");
                    }

                    break;
                case "pattern":
                    CheckPattern(value, param, at);
                    break;
                case "format":
                    if (value.ValueKind != JsonValueKind.String || !Formats.Contains(value.GetString()!))
                    {
                        throw Unsupported(param, at, $"the format {value.GetRawText()} (supported: {string.Join(", ", Formats)})");
                    }

                    break;
                case "$ref":
                    if (value.ValueKind != JsonValueKind.String || !value.GetString()!.StartsWith('#'))
                    {
                        throw Unsupported(param, at, "a $ref outside this schema (only local references such as '#/$defs/name' are)");
                    }

                    break;
                case "oneOf":
                    throw Unsupported(param, at, "the keyword 'oneOf' (use 'anyOf')");
                default:
                    throw Unsupported(param, at, $"the keyword '{keyword.Name}'");
            }
        }
    }

    private static void CheckType(JsonElement value, string param, string at)
    {
        var names = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
        foreach (var name in names)
        {
            if (name.ValueKind != JsonValueKind.String || !Types.Contains(name.GetString()!))
            {
                throw Invalid(param, at, $"{name.GetRawText()} is not a JSON type");
            }
        }
    }

    private static void CheckPattern(JsonElement value, string param, string at)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw Invalid(param, at, "'pattern' must be a string");
        }

        try
        {
            _ = new System.Text.RegularExpressions.Regex(value.GetString()!, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw Invalid(param, at, $"'pattern' is not a regular expression: {ex.Message}");
        }
    }

    private static void ForEachMember(JsonElement value, string param, string at, Action<JsonElement, string> check)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(param, at, "must be an object of schemas");
        }

        foreach (var member in value.EnumerateObject())
        {
            check(member.Value, $"{at}/{member.Name}");
        }
    }

    private static void ForEachItem(JsonElement value, string param, string at, Action<JsonElement, string> check)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(param, at, "must be an array");
        }

        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            check(item, string.Create(CultureInfo.InvariantCulture, $"{at}/{i++}"));
        }
    }

    private static ApiException Invalid(string param, string path, string problem) =>
        ApiException.BadRequest($"Invalid schema for '{param}' at {path}: {problem}.", param, "invalid_json_schema");

    private static ApiException Unsupported(string param, string path, string what) =>
        ApiException.BadRequest(
            $"The schema in '{param}' uses {what} at {path}, which this service's constrained decoding cannot enforce. Remove it or express it with the supported keywords (README, Structured outputs).",
            param, "unsupported_schema");
}
