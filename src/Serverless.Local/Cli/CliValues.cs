using System.CommandLine;
using System.Globalization;

namespace Serverless.Local.Cli;

/// <summary>
/// The kinds of value the admin commands' options take, each read the same way in every command. A value that does
/// not read is a parse error naming the option: exit code 2 and the command's help, before anything is built.
/// </summary>
internal static class CliValues
{
    private delegate bool TryRead<T>(string text, out T value);

    public static Option<string> Text(string name, string helpName, string description, bool required = false) =>
        new(name) { HelpName = helpName, Description = description, Required = required };

    /// <summary>
    /// A list option's value, or null when it was not given (the command's default). System.CommandLine gives an absent
    /// array option an empty array, which "keys create" would read as "no permissions" rather than the defaults.
    /// </summary>
    public static string[]? Given(ParseResult parse, Option<string[]?> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetResult(option) is null ? null : parse.GetValue(option);
    }

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>A comma-separated list (<c>a,b</c>); blank entries are dropped.</summary>
    public static Option<string[]?> List(string name, string helpName, string description) =>
        Read<string[]?>(name, helpName, description, "be a comma-separated list", (string text, out string[]? value) =>
        {
            value = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return true;
        });

    public static Option<long?> Count(string name, string helpName, string description, bool required = false)
    {
        var option = Read<long?>(name, helpName, description, "be a non-negative integer", (string text, out long? value) =>
        {
            bool read = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long number);
            value = number;
            return read;
        });
        option.Required = required;
        return option;
    }

    public static Option<double?> Number(string name, string helpName, string description) =>
        Read<double?>(name, helpName, description, "be a number", (string text, out double? value) =>
        {
            bool read = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number);
            value = number;
            return read;
        });

    public static Option<int?> Integer(string name, string helpName, string description) =>
        Read<int?>(name, helpName, description, "be an integer", (string text, out int? value) =>
        {
            bool read = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number);
            value = number;
            return read;
        });

    /// <summary>A date or time, UTC unless it names an offset.</summary>
    public static Option<DateTimeOffset?> Time(string name, string description) =>
        Read<DateTimeOffset?>(name, "ISO", description, "be a date or time such as 2026-01-31 or 2026-01-31T12:00:00Z", (string text, out DateTimeOffset? value) =>
        {
            bool read = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time);
            value = time;
            return read;
        });

    /// <summary>"90s", "15m", "2h", "7d", or a TimeSpan such as 00:15:00.</summary>
    public static Option<TimeSpan?> Duration(string name, string description) =>
        Read<TimeSpan?>(name, "90s|15m|2h|7d", description, "look like 90s, 15m, 2h or 7d", (string text, out TimeSpan? value) =>
        {
            value = ReadDuration(text);
            return value is not null;
        });

    private static TimeSpan? ReadDuration(string text)
    {
        if (text.Length > 1 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
        {
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(value);
                case 'm': return TimeSpan.FromMinutes(value);
                case 'h': return TimeSpan.FromHours(value);
                case 'd': return TimeSpan.FromDays(value);
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    private static Option<T> Read<T>(string name, string helpName, string description, string expected, TryRead<T> read) => new(name)
    {
        HelpName = helpName,
        Description = description,
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (read(text, out T value))
            {
                return value;
            }

            result.AddError($"{name} must {expected}; got '{text}'.");
            return default;
        },
    };
}
