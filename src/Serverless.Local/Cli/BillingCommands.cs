using System.CommandLine;
using System.Globalization;
using Serverless.Core.Billing;

namespace Serverless.Local.Cli;

/// <summary><c>billing setup | export | reconcile | status | dead-letters</c>: the ledger's usage in Stripe.</summary>
internal static class BillingCommands
{
    public static Command Create() =>
        new("billing", "Stripe usage billing: setup (meters), export, reconcile, status, dead-letters.") { Setup(), Export(), Reconcile(), Status(), DeadLetters() };

    private static Command Setup()
    {
        return new Command("setup", "Create the Stripe meters (input and output tokens) if missing.")
            .WithAction(CliNeeds.StripeAndDatabase, async (cli, _, cancellationToken) =>
            {
                foreach (var meter in await cli.BillingSetup.EnsureMetersAsync(cancellationToken))
                {
                    Console.WriteLine($"{meter.Kind,-14} event '{meter.EventName}' -> meter {meter.StripeMeterId} ({(meter.Created ? "created" : "already there")})");
                }

                return 0;
            });
    }

    private static Command Export()
    {
        var wait = CliValues.Duration("--wait", "how long to wait for a pass already running elsewhere, such as the service's (default: 5m)");
        wait.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<TimeSpan?>() < TimeSpan.Zero)
            {
                result.AddError("--wait must not be negative.");
            }
        });
        return new Command("export", "Run one export pass (ledger -> Stripe meter events), after a pass already running ends.") { wait }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var waitFor = parse.GetValue(wait) ?? TimeSpan.FromMinutes(5);
                var started = cli.Time.GetUtcNow();
                DateTimeOffset? lastPrinted = null;
                void Waiting(ExportLease lease)
                {
                    var now = cli.Time.GetUtcNow();
                    if (lastPrinted is { } last && now - last < TimeSpan.FromSeconds(5))
                    {
                        return;
                    }

                    lastPrinted = now;
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Waiting for the export pass of {lease.Holder} to end (its lease runs to {lease.ExpiresAt:HH:mm:ss} UTC unless renewed; waited {(now - started).TotalSeconds:0} s of {waitFor.TotalSeconds:0} s)..."));
                }

                var result = await cli.Exporter.RunPassAsync(waitFor, Waiting, cancellationToken);
                if (!result.Ran)
                {
                    Console.WriteLine(lastPrinted is null
                        ? $"Nothing exported: {result.Reason}"
                        : string.Create(CultureInfo.InvariantCulture, $"Nothing exported: {result.Reason} (still, after waiting {waitFor.TotalSeconds:0} s; try a longer --wait)"));
                    return result.Reason?.StartsWith("Stripe:ApiKey", StringComparison.Ordinal) == true ? 0 : 1;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.RecordsClaimed} records into buckets; {result.BucketsAccepted} buckets accepted, {result.BucketsRetrying} to retry, {result.BucketsDeadLettered} dead-lettered; {result.StripeCalls} {result.Transport} calls."));
                if (result.Reason is not null)
                {
                    Console.WriteLine(result.Reason);
                }

                return 0;
            });
    }

    private static Command Reconcile()
    {
        var start = CliValues.Time("--start", "the first UTC day (default: the last Stripe:ReconcileDays days)");
        var end = CliValues.Time("--end", "the UTC day after the last (default: tomorrow)");
        var fix = CliValues.Flag("--fix", "send corrections for the differences it can correct");
        return new Command("reconcile", "Compare ledger, exports and Stripe per customer, meter and day; exit code 1 while a difference remains.") { start, end, fix }
            .WithAction(CliNeeds.StripeAndDatabase, async (cli, parse, cancellationToken) =>
            {
                var result = await cli.Reconciler.RunAsync(parse.GetValue(start), parse.GetValue(end), parse.GetValue(fix), cancellationToken);
                Console.WriteLine($"{"CUSTOMER",-16} {"METER",-14} {"DAY",-10} {"LEDGER",12} {"EXPORTED",12} {"PENDING",10} {"DEAD",10} {"LATE OUT",10} {"LATE IN",10} {"STRIPE",12}  STATUS");
                foreach (var line in result.Lines)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{line.CustomerId,-16} {line.Meter,-14} {line.Day,-10} {line.Ledger,12} {line.Exported,12} {line.Pending,10} {line.DeadLettered,10} {line.LateOut,10} {line.LateIn,10} {line.Stripe,12}  {line.Status}{(line.Action is null ? string.Empty : " - " + line.Action)}"));
                }

                Console.WriteLine($"Run {result.RunId}: {result.Differences} differences, {result.Corrections} corrected.");
                if (result.DeadLettered > 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{result.DeadLettered} tokens are dead-lettered: Stripe refused them and will not bill them. Reconciliation does not resend them; see 'billing dead-letters', fix the cause, then run 'billing dead-letters --retry'."));
                }

                // Non-zero while a difference remains, dead letters included: a script or cron job must not read "fine".
                return result.Differences == 0 ? 0 : 1;
            });
    }

    private static Command Status()
    {
        return new Command("status", "Meters, export buckets by state, dead letters and the last reconciliation.")
            .WithAction(CliNeeds.Database, async (cli, _, cancellationToken) =>
            {
                var status = await cli.BillingAdmin.StatusAsync(cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Stripe configured: {status.StripeConfigured}; meters: {string.Join(", ", status.Meters.Select(m => $"{m.Kind}={m.StripeMeterId}"))}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"outbox records {status.OutboxRecords}; buckets pending {status.PendingBuckets} ({status.PendingTokens} tokens), accepted {status.AcceptedBuckets}, dead-lettered {status.DeadLetterBuckets} ({status.DeadLetterTokens} tokens); late {status.LateBuckets} ({status.LateTokens} tokens)"));
                if (status.DeadLetterBuckets > 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{status.DeadLetterTokens} tokens in {status.DeadLetterBuckets} dead-lettered buckets are not billed: see 'billing dead-letters', fix the cause, then 'billing dead-letters --retry'."));
                }

                Console.WriteLine(status.LastReconciliationId is null ? "never reconciled" : string.Create(CultureInfo.InvariantCulture,
                    $"last reconciliation {status.LastReconciliationId} at {DateTimeOffset.FromUnixTimeSeconds(status.LastReconciliationAt!.Value):u}: {status.LastReconciliationDifferences} differences"));
                return 0;
            });
    }

    private static Command DeadLetters()
    {
        var retry = CliValues.Flag("--retry", "make every dead-lettered bucket pending again (after fixing the cause)");
        return new Command("dead-letters", "List the buckets Stripe refused (not billed), or retry them.") { retry }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                if (parse.GetValue(retry))
                {
                    int count = await cli.Exporter.RetryDeadLettersAsync(null, cancellationToken);
                    Console.WriteLine($"{count} dead-lettered buckets are pending again.");
                    return 0;
                }

                foreach (var b in await cli.BillingAdmin.DeadLettersAsync(cancellationToken))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{b.Id,8} {b.CustomerId,-16} {b.Meter,-14} {b.BucketStart:u} {b.Value,10}  {b.LastError}"));
                }

                return 0;
            });
    }
}
