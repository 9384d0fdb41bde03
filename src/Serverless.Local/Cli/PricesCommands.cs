using System.CommandLine;
using System.Globalization;

namespace Serverless.Local.Cli;

/// <summary><c>prices set | list</c>: versioned prices per model, in micro-USD per million tokens.</summary>
internal static class PricesCommands
{
    public static Command Create() => new("prices", "Model prices (micro-USD per million tokens): set a new version, list them.") { Set(), List() };

    private static Command Set()
    {
        var model = CliValues.Text("--model", "M", "the model id", required: true);
        var input = CliValues.Count("--input", "micro-USD", "per million input tokens", required: true);
        var output = CliValues.Count("--output", "micro-USD", "per million output tokens", required: true);
        var batchDiscount = CliValues.Count("--batch-discount-bp", "B", "batch discount in basis points (5000 = 50% off; default 0)");
        var effectiveFrom = CliValues.Time("--effective-from", "when the price starts (default: now)");
        return new Command("set", "Add a price version for a model.") { model, input, output, batchDiscount, effectiveFrom }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var price = await cli.Prices.SetAsync(
                    parse.GetRequiredValue(model), parse.GetValue(input)!.Value, parse.GetValue(output)!.Value, parse.GetValue(batchDiscount) ?? 0,
                    parse.GetValue(effectiveFrom), cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Price version {price.Id} for '{price.Model}' effective {price.EffectiveFrom:u}."));
                return 0;
            });
    }

    private static Command List()
    {
        var model = CliValues.Text("--model", "M", "only this model's prices");
        return new Command("list", "List price versions.") { model }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                Console.WriteLine($"{"VERSION",-8} {"MODEL",-24} {"INPUT/1M",12} {"OUTPUT/1M",12} {"BATCH-BP",9} EFFECTIVE");
                foreach (var p in await cli.Prices.ListAsync(parse.GetValue(model), cancellationToken))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{p.Id,-8} {p.Model,-24} {p.InputMicroUsdPerMillion,12} {p.OutputMicroUsdPerMillion,12} {p.BatchDiscountBasisPoints,9} {p.EffectiveFrom:u}"));
                }

                return 0;
            });
    }
}
