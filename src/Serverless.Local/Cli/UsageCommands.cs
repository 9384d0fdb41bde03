using System.CommandLine;
using Serverless.Core.Metering;

namespace Serverless.Local.Cli;

/// <summary><c>usage export</c>: the ledger's usage records as CSV or JSON, as <c>GET /v1/admin/usage/export</c>.</summary>
internal static class UsageCommands
{
    public static Command Create() => new("usage", "Usage records from the ledger: export.") { Export() };

    private static Command Export()
    {
        var start = CliValues.Time("--start", "from (default: the start of this billing period)");
        var end = CliValues.Time("--end", "until (default: the end of this billing period)");
        var customer = CliValues.Text("--customer", "C", "only this customer's records");
        var format = CliValues.Text("--format", "csv|json", "the output format (default: csv)");
        format.AcceptOnlyFromAmong("csv", "json");
        var output = CliValues.Text("--out", "F", "write to this file (default: stdout)");
        return new Command("export", "Export usage records.") { start, end, customer, format, output }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var now = DateTimeOffset.UtcNow;
                var records = cli.Usage.RecordsAsync(
                    parse.GetValue(customer), parse.GetValue(start) ?? MeteringClock.PeriodStart(now), parse.GetValue(end) ?? MeteringClock.PeriodEnd(now), null, cancellationToken);
                await using Stream stream = parse.GetValue(output) is { } path ? File.Create(path) : Console.OpenStandardOutput();
                if (parse.GetValue(format) is "json")
                {
                    await AdminUsageExportHandler.WriteJsonAsync(stream, records, cancellationToken);
                }
                else
                {
                    await AdminUsageExportHandler.WriteCsvAsync(stream, records, cancellationToken);
                }

                return 0;
            });
    }
}
