using Microsoft.AspNetCore.WebUtilities;

namespace Serverless.Testing.Stripe;

/// <summary>
/// Stripe's v1 parameters (form body or query string) in its bracket notation: <c>payload[value]=5</c> is the key
/// "payload[value]"; <see cref="Hash"/> gathers one level of a nested hash.
/// </summary>
internal sealed class StripeForm
{
    private readonly Dictionary<string, string> _values;

    private StripeForm(Dictionary<string, string> values) => _values = values;

    public static StripeForm Parse(string encoded)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in QueryHelpers.ParseQuery(encoded))
        {
            values[key] = value.ToString();
        }

        return new StripeForm(values);
    }

    public string? this[string key] => _values.TryGetValue(key, out var value) ? value : null;

    /// <summary>The first parameter whose top-level name is not in <paramref name="allowed"/>, as Stripe names it.</summary>
    public string? FirstUnknown(IReadOnlySet<string> allowed)
    {
        foreach (var key in _values.Keys)
        {
            var bracket = key.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? key : key[..bracket];
            if (!allowed.Contains(name))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The entries <c>name[sub]=value</c> as sub → value (null if there are none).</summary>
    public Dictionary<string, string>? Hash(string name)
    {
        Dictionary<string, string>? hash = null;
        var prefix = name + "[";
        foreach (var (key, value) in _values)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && key.EndsWith(']'))
            {
                hash ??= new Dictionary<string, string>(StringComparer.Ordinal);
                hash[key[prefix.Length..^1]] = value;
            }
        }

        return hash;
    }
}
