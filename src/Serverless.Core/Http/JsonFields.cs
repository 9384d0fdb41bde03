using System.Text.Json;

namespace Serverless.Core.Http;

/// <summary>
/// Typed access to request fields with OpenAI-style errors that name the offending parameter.
/// Parsing by hand (rather than binding to a DTO) is what lets every wrong type get a precise 400.
/// </summary>
public static class JsonFields
{
    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        value = default;
        return false;
    }

    public static string RequiredString(JsonElement obj, string name, string? path = null)
    {
        string param = path ?? name;
        if (!TryGet(obj, name, out var value))
        {
            throw ApiException.MissingParameter(param);
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw ApiException.InvalidType(param, "a string", Describe(value));
        }

        return value.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string? path = null)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw ApiException.InvalidType(path ?? name, "a string", Describe(value));
        }

        return value.GetString();
    }

    public static bool? OptionalBool(JsonElement obj, string name, string? path = null)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.InvalidType(path ?? name, "a boolean", Describe(value)),
        };
    }

    public static long? OptionalInteger(JsonElement obj, string name, string? path = null)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        string param = path ?? name;
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw ApiException.InvalidType(param, "an integer", Describe(value));
        }

        if (value.TryGetInt64(out long result))
        {
            return result;
        }

        // 3.0 is an integer in JSON's eyes; 3.5 and 1e30 are not representable counts.
        if (value.TryGetDecimal(out decimal d) && decimal.Truncate(d) == d && d is >= long.MinValue and <= long.MaxValue)
        {
            return (long)d;
        }

        throw ApiException.InvalidType(param, "an integer", "a decimal or out-of-range number");
    }

    public static double? OptionalNumber(JsonElement obj, string name, string? path = null)
    {
        if (!TryGet(obj, name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw ApiException.InvalidType(path ?? name, "a number", Describe(value));
        }

        return value.GetDouble();
    }

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => "an unknown value",
    };
}
