using System.CommandLine;
using System.Globalization;
using Serverless.Core.Metering;

namespace Serverless.Local.Cli;

/// <summary><c>limits set | show</c>: rate limits and monthly caps of a key or a customer.</summary>
internal static class LimitsCommands
{
    public static Command Create() => new("limits", "Rate limits and monthly caps of a key or a customer: set, show.") { Set(), Show() };

    private static Command Set()
    {
        var (key, customer) = Target();
        var rpm = CliValues.Count("--rpm", "N", "requests per minute");
        var tpm = CliValues.Count("--tpm", "N", "tokens per minute");
        var spendCap = CliValues.Count("--spend-cap", "micro-USD", "spend cap per month");
        var tokenCap = CliValues.Count("--token-cap", "N", "token cap per month");
        return OneTarget(new Command("set", "Set the limits of a key or a customer (--key K or --customer C).") { key, customer, rpm, tpm, spendCap, tokenCap }, key, customer)
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var (scope, id) = TargetOf(parse, key, customer);
                var policy = await cli.Limits.SetAsync(
                    scope, id, parse.GetValue(rpm), parse.GetValue(tpm), parse.GetValue(spendCap), parse.GetValue(tokenCap), cancellationToken);
                Console.WriteLine(Describe(policy));
                return 0;
            });
    }

    private static Command Show()
    {
        var (key, customer) = Target();
        return OneTarget(new Command("show", "Show the limits of a key or a customer (--key K or --customer C) and this period's use.") { key, customer }, key, customer)
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var (scope, id) = TargetOf(parse, key, customer);
                var policy = await cli.Limits.GetAsync(scope, id, cancellationToken) ?? new LimitPolicy { Scope = scope, ScopeId = id };
                Console.WriteLine(Describe(policy));
                if (await cli.Limits.UsageAsync(scope, id, cancellationToken) is { } usage)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"this period: spent {usage.SpentMicroUsd} micro-USD and {usage.SpentTokens} tokens; reserved {usage.ReservedMicroUsd} micro-USD and {usage.ReservedTokens} tokens"));
                }

                return 0;
            });
    }

    private static (Option<string> Key, Option<string> Customer) Target() =>
        (CliValues.Text("--key", "K", "a key id"), CliValues.Text("--customer", "C", "a customer id"));

    /// <summary>Refuses, as a parse error, both or neither of --key and --customer.</summary>
    private static Command OneTarget(Command command, Option<string> key, Option<string> customer)
    {
        command.Validators.Add(result =>
        {
            if ((result.GetResult(key) is null) == (result.GetResult(customer) is null))
            {
                result.AddError("Give exactly one of --key or --customer.");
            }
        });
        return command;
    }

    private static (string Scope, string Id) TargetOf(ParseResult parse, Option<string> key, Option<string> customer) =>
        parse.GetValue(key) is { } keyId ? (LimitScope.Key, keyId) : (LimitScope.Customer, parse.GetRequiredValue(customer));

    private static string Describe(LimitPolicy p)
    {
        static string Value(long? v, string unset) => v?.ToString(CultureInfo.InvariantCulture) ?? unset;
        return $"{p.Scope} {p.ScopeId}: requests/min {Value(p.RequestsPerMinute, "default")}, tokens/min {Value(p.TokensPerMinute, "default")}, " +
            $"spend cap {Value(p.SpendCapMicroUsd, "none")} micro-USD/month, token cap {Value(p.TokenCap, "none")}/month";
    }
}
