using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Serverless.Core.Operations;

namespace Serverless.Local.Cli;

/// <summary><c>status</c>: the operator overview (<c>GET /v1/admin/overview</c>) as tables, or as its JSON.</summary>
internal static class StatusCommands
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print the overview's JSON instead of tables" };
        return new Command("status", "What an operator checks first: instances, slots, export lag, dead letters, today's usage by customer.") { json }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var overview = await cli.Overview.GetAsync(cancellationToken);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(overview, OperationsJsonContext.Default.OverviewObject));
                }
                else
                {
                    Print(overview, Console.Out);
                }

                return 0;
            });
    }

    internal static void Print(OverviewObject overview, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine("Instances");
        output.WriteLine($"  {"instance",-48} {"alive",-5} {"heartbeat",9} {"slots",7} {"queued",6}  models");
        foreach (var i in overview.Instances)
        {
            string slots = i.SlotsInUse is int used && i.Slots is int all ? $"{used}/{all}" : "-";
            output.WriteLine(string.Create(c,
                $"  {i.Id,-48} {(i.Alive ? "yes" : "no"),-5} {i.HeartbeatAgeSeconds,8:0.0}s {slots,7} {(i.Queued is int q ? q.ToString(c) : "-"),6}  {(i.ModelsLoaded is { Count: > 0 } m ? string.Join(",", m) : "-")}"));
        }

        if (overview.Instances.Count == 0)
        {
            output.WriteLine("  (none heard from in the last hour)");
        }

        var e = overview.Export;
        output.WriteLine();
        output.WriteLine(e.StripeConfigured ? "Stripe export" : "Stripe export (Stripe is not configured)");
        output.WriteLine(string.Create(c, $"  records waiting {e.RecordsWaiting}, export lag {Age(e.ExportLagSeconds)} (outbox {e.OutboxRecords}; pending events {e.PendingEvents}, {e.PendingTokens} tokens)"));
        output.WriteLine(string.Create(c, $"  dead letters {e.DeadLetters} ({e.DeadLetterTokens} tokens)"));
        output.WriteLine(overview.LastReconciliation is { } r
            ? string.Create(c, $"  last reconciliation #{r.Id} at {DateTimeOffset.FromUnixTimeSeconds(r.RanAt):u}: {r.Differences} differences")
            : "  no reconciliation yet");

        var t = overview.Today;
        output.WriteLine();
        output.WriteLine(string.Create(c, $"Today (UTC, since {DateTimeOffset.FromUnixTimeSeconds(t.Start):u})"));
        output.WriteLine($"  {"customer",-32} {"requests",10} {"input",14} {"output",14} {"revenue USD",14}");
        foreach (var row in t.Customers)
        {
            output.WriteLine(string.Create(c, $"  {row.Customer,-32} {row.Requests,10} {row.InputTokens,14} {row.OutputTokens,14} {Usd(row.RevenueMicroUsd),14}"));
        }

        output.WriteLine(string.Create(c, $"  {"total",-32} {t.Requests,10} {t.InputTokens,14} {t.OutputTokens,14} {Usd(t.RevenueMicroUsd),14}"));
    }

    private static string Age(double? seconds) => seconds is double s ? string.Create(CultureInfo.InvariantCulture, $"{s:0.0}s") : "none";

    // Micro-USD to dollars exactly (decimal), six places.
    private static string Usd(long microUsd) => (microUsd / 1_000_000m).ToString("0.000000", CultureInfo.InvariantCulture);
}
