using System.Globalization;
using Microsoft.Extensions.Options;
using Serverless.Core;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Billing;
using Serverless.Core.Dashboard;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Models.Demo;

namespace Serverless.Local.Cli;

/// <summary>
/// The admin command line (<c>./run.sh keys create --customer acme</c>, ...). It builds the same services
/// from the same configuration as the server, so a key it creates is a key the server accepts.
/// </summary>
internal static class AdminCli
{
    public const string DemoModelId = "demo";

    // The prices setup gives models that have none: $0.50 / $1.50 per million input / output tokens, 50% off in batches.
    private const long DemoInputPrice = 500_000;
    private const long DemoOutputPrice = 1_500_000;
    private const long DemoBatchDiscount = 5_000;

    private static readonly HashSet<string> Commands = new(StringComparer.Ordinal) { "keys", "models", "prices", "limits", "usage", "customers", "billing", "dashboard", "setup", "migrate", "help", "--help", "-h" };

    private const string Usage = """
        Usage: ./run.sh [command]
          (no command)                         set up and serve on http://127.0.0.1:7071
          setup [--dev-key-file F]             apply migrations, upload the demo model if absent, create a dev key
          migrate                              apply database migrations
          keys create --customer C [--name N] [--models a,b] [--permissions inference,batches,usage.read,keys.manage] [--expires-in-days D]
          keys list [--customer C]
          keys revoke <key-id>
          models list                          configured models and whether they are in blob storage
          models upload <folder> --id <id>     upload a GenAI model folder with a manifest
          models demo --out <folder> [--seed N]  write the demo model folder
          prices set --model M --input <micro-USD per 1M> --output <micro-USD per 1M> [--batch-discount-bp B] [--effective-from ISO]
          prices list [--model M]
          limits set (--key K | --customer C) [--rpm N] [--tpm N] [--spend-cap <micro-USD>] [--token-cap N]
          limits show (--key K | --customer C)
          usage export [--start S] [--end E] [--customer C] [--format csv|json] [--out F]
          customers create --id C [--name N] [--stripe-customer cus_...]   (creates the Stripe customer unless linked)
          billing setup                        create the Stripe meters (input and output tokens) if missing
          billing export [--wait 5m]           run one export pass (ledger -> Stripe meter events), after waiting
                                               up to --wait for a pass already running elsewhere (the service's)
          billing reconcile [--start D] [--end D] [--fix]   compare ledger, exports and Stripe per customer, meter, day
          billing status | billing dead-letters [--retry]
          dashboard link --customer C [--expires-in 15m|2h|7d] [--base-url http://127.0.0.1:7071]
                                               print a signed sign-in link to the customer's dashboard
        """;

    public static bool IsCommand(string[] args) => args.Length > 0 && Commands.Contains(args[0]);

    /// <summary>Arguments for the web host: everything after an optional leading "serve".</summary>
    public static string[] ServeArguments(string[] args) => args.Length > 0 && args[0] == "serve" ? args[1..] : args;

    public static async Task<int> RunAsync(string[] args)
    {
        var cli = new CliArguments(args);
        string command = cli.Positional.FirstOrDefault() ?? "help";
        if (command is "help" || cli.Flag("help") || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return 0;
        }

        var builder = Host.CreateApplicationBuilder([]);
        builder.Logging.ClearProviders();
        builder.AddServerless();
        using var host = builder.Build();
        var services = host.Services;
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        try
        {
            string sub = cli.Positional.ElementAtOrDefault(1) ?? string.Empty;
            switch (command, sub)
            {
                case ("migrate", _):
                    await services.MigrateDatabaseAsync(cancel.Token);
                    Console.WriteLine("Database is up to date.");
                    return 0;
                case ("setup", _):
                    return await SetupAsync(services, cli, cancel.Token);
                case ("keys", "create"):
                    return await CreateKeyAsync(services, cli, cancel.Token);
                case ("keys", "list"):
                    return await ListKeysAsync(services, cli, cancel.Token);
                case ("keys", "revoke"):
                    return await RevokeKeyAsync(services, cli, cancel.Token);
                case ("models", "list"):
                    return await ListModelsAsync(services, cancel.Token);
                case ("models", "upload"):
                    return await UploadModelAsync(services, cli, cancel.Token);
                case ("prices", "set"):
                    return await SetPriceAsync(services, cli, cancel.Token);
                case ("prices", "list"):
                    return await ListPricesAsync(services, cli, cancel.Token);
                case ("limits", "set"):
                    return await SetLimitsAsync(services, cli, cancel.Token);
                case ("limits", "show"):
                    return await ShowLimitsAsync(services, cli, cancel.Token);
                case ("usage", "export"):
                    return await ExportUsageAsync(services, cli, cancel.Token);
                case ("customers", "create"):
                    return await CreateCustomerAsync(services, cli, cancel.Token);
                case ("billing", "setup"):
                    return await BillingSetupAsync(services, cancel.Token);
                case ("billing", "export"):
                    return await BillingExportAsync(services, cli, cancel.Token);
                case ("billing", "reconcile"):
                    return await BillingReconcileAsync(services, cli, cancel.Token);
                case ("billing", "status"):
                    return await BillingStatusAsync(services, cancel.Token);
                case ("billing", "dead-letters"):
                    return await DeadLettersAsync(services, cli, cancel.Token);
                case ("dashboard", "link"):
                    return await DashboardLinkAsync(services, cli, cancel.Token);
                case ("models", "demo"):
                    string outDir = cli.Required("out");
                    DemoModelWriter.Write(outDir, DemoOptions(cli));
                    Console.WriteLine($"Demo model written to {Path.GetFullPath(outDir)}");
                    return 0;
                default:
                    Console.Error.WriteLine($"Unknown command '{string.Join(' ', cli.Positional)}'.");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"configuration error: {ex.Message}");
            return 3;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    private static DemoModelOptions DemoOptions(CliArguments cli) =>
        cli.Option("seed") is { } seed ? new DemoModelOptions { Seed = int.Parse(seed, CultureInfo.InvariantCulture) } : new DemoModelOptions();

    private static async Task<int> SetupAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        Console.Error.WriteLine("database: migrated");

        var storage = services.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
        var demo = storage.Models.FirstOrDefault(m => m.Id == DemoModelId && !m.IsLocal);
        if (demo is not null)
        {
            if (await IsUploadedAsync(services, demo, cancellationToken))
            {
                Console.Error.WriteLine($"model '{demo.Id}': already in blob storage");
            }
            else
            {
                string folder = Path.Combine(Path.GetTempPath(), "serverless-demo-" + Guid.NewGuid().ToString("N"));
                try
                {
                    DemoModelWriter.Write(folder);
                    await services.GetRequiredService<ModelBlobUploader>().UploadAsync(folder, demo.Id, ProgressPrinter.Create(), cancellationToken);
                    Console.Error.WriteLine($"model '{demo.Id}': demo model written and uploaded");
                }
                finally
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        var priceBook = services.GetRequiredService<PriceBook>();
        foreach (var model in storage.Models)
        {
            if (await priceBook.CurrentAsync(model.Id, cancellationToken) is null)
            {
                var price = await priceBook.SetAsync(model.Id, DemoInputPrice, DemoOutputPrice, DemoBatchDiscount, null, cancellationToken);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"price '{model.Id}': set to {price.InputMicroUsdPerMillion} / {price.OutputMicroUsdPerMillion} micro-USD per million input / output tokens (version {price.Id})"));
            }
        }

        if (cli.Option("dev-key-file") is { } keyFile)
        {
            var keys = services.GetRequiredService<ApiKeyService>();
            bool valid = File.Exists(keyFile)
                && (await keys.AuthenticateAsync("Bearer " + (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim(), cancellationToken)).Succeeded;
            if (valid)
            {
                Console.Error.WriteLine($"dev key: {keyFile} is valid");
            }
            else
            {
                // The local developer's own key: it may also manage keys in the dashboard.
                var created = await keys.CreateAsync("dev", "dev", null, null, ApiKeyPermissions.All, cancellationToken);
                await File.WriteAllTextAsync(keyFile, created.Key + "\n", cancellationToken);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                Console.Error.WriteLine($"dev key: created {created.Info.KeyId} for customer 'dev', written to {keyFile}");
            }
        }

        return 0;
    }

    private static long? LongOption(CliArguments cli, string name)
    {
        string? text = cli.Option(name);
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new CliException($"--{name} must be a non-negative integer; got '{text}'.");
    }

    private static (string Scope, string Id) LimitTarget(CliArguments cli) =>
        (cli.Option("key"), cli.Option("customer")) switch
        {
            ({ } key, null) => (LimitScope.Key, key),
            (null, { } customer) => (LimitScope.Customer, customer),
            _ => throw new CliException("Give exactly one of --key or --customer."),
        };

    private static async Task<int> SetPriceAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        DateTimeOffset? effective = cli.Option("effective-from") is { } text
            ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : null;
        var price = await services.GetRequiredService<PriceBook>().SetAsync(
            cli.Required("model"), LongOption(cli, "input") ?? throw new CliException("--input is required."),
            LongOption(cli, "output") ?? throw new CliException("--output is required."), LongOption(cli, "batch-discount-bp") ?? 0, effective, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Price version {price.Id} for '{price.Model}' effective {price.EffectiveFrom:u}."));
        return 0;
    }

    private static async Task<int> ListPricesAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        Console.WriteLine($"{"VERSION",-8} {"MODEL",-24} {"INPUT/1M",12} {"OUTPUT/1M",12} {"BATCH-BP",9} EFFECTIVE");
        foreach (var p in await services.GetRequiredService<PriceBook>().ListAsync(cli.Option("model"), cancellationToken))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{p.Id,-8} {p.Model,-24} {p.InputMicroUsdPerMillion,12} {p.OutputMicroUsdPerMillion,12} {p.BatchDiscountBasisPoints,9} {p.EffectiveFrom:u}"));
        }

        return 0;
    }

    private static async Task<int> SetLimitsAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        var (scope, id) = LimitTarget(cli);
        var policy = await services.GetRequiredService<LimitPolicies>().SetAsync(
            scope, id, LongOption(cli, "rpm"), LongOption(cli, "tpm"), LongOption(cli, "spend-cap"), LongOption(cli, "token-cap"), cancellationToken);
        Console.WriteLine(Describe(policy));
        return 0;
    }

    private static async Task<int> ShowLimitsAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        var (scope, id) = LimitTarget(cli);
        var policies = services.GetRequiredService<LimitPolicies>();
        var policy = await policies.GetAsync(scope, id, cancellationToken) ?? new LimitPolicy { Scope = scope, ScopeId = id };
        Console.WriteLine(Describe(policy));
        if (await policies.UsageAsync(scope, id, cancellationToken) is { } usage)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"this period: spent {usage.SpentMicroUsd} micro-USD and {usage.SpentTokens} tokens; reserved {usage.ReservedMicroUsd} micro-USD and {usage.ReservedTokens} tokens"));
        }

        return 0;
    }

    private static string Describe(LimitPolicy p)
    {
        static string Value(long? v, string unset) => v?.ToString(CultureInfo.InvariantCulture) ?? unset;
        return $"{p.Scope} {p.ScopeId}: requests/min {Value(p.RequestsPerMinute, "default")}, tokens/min {Value(p.TokensPerMinute, "default")}, " +
            $"spend cap {Value(p.SpendCapMicroUsd, "none")} micro-USD/month, token cap {Value(p.TokenCap, "none")}/month";
    }

    private static async Task<int> ExportUsageAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        DateTimeOffset Time(string name, DateTimeOffset fallback) =>
            cli.Option(name) is { } text ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : fallback;
        var records = services.GetRequiredService<UsageQueries>().RecordsAsync(
            cli.Option("customer"), Time("start", MeteringClock.PeriodStart(now)), Time("end", MeteringClock.PeriodEnd(now)), null, cancellationToken);
        string format = cli.Option("format") ?? "csv";
        await using Stream output = cli.Option("out") is { } path ? File.Create(path) : Console.OpenStandardOutput();
        switch (format)
        {
            case "csv":
                await AdminUsageExportHandler.WriteCsvAsync(output, records, cancellationToken);
                break;
            case "json":
                await AdminUsageExportHandler.WriteJsonAsync(output, records, cancellationToken);
                break;
            default:
                throw new CliException("--format must be csv or json.");
        }

        return 0;
    }

    private static async Task<int> CreateCustomerAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        string? stripeId = cli.Option("stripe-customer");
        if (stripeId is null && !services.GetRequiredService<StripeClientFactory>().Enabled)
        {
            throw new CliException("Stripe__ApiKey is not set: pass --stripe-customer cus_... to link an existing Stripe customer.");
        }

        var customer = await services.GetRequiredService<BillingSetup>().EnsureCustomerAsync(cli.Required("id"), cli.Option("name"), stripeId, cancellationToken);
        Console.WriteLine($"Customer '{customer.Id}' ({customer.Name}) is billed to Stripe customer {customer.StripeCustomerId}.");
        return 0;
    }

    private static StripeClientFactory RequireStripe(IServiceProvider services)
    {
        var stripe = services.GetRequiredService<StripeClientFactory>();
        return stripe.Enabled ? stripe : throw new CliException("Stripe__ApiKey is not set, so there is no Stripe account to talk to.");
    }

    private static async Task<int> BillingSetupAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        RequireStripe(services);
        await services.MigrateDatabaseAsync(cancellationToken);
        foreach (var meter in await services.GetRequiredService<BillingSetup>().EnsureMetersAsync(cancellationToken))
        {
            Console.WriteLine($"{meter.Kind,-14} event '{meter.EventName}' -> meter {meter.StripeMeterId} ({(meter.Created ? "created" : "already there")})");
        }

        return 0;
    }

    private static async Task<int> BillingExportAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        var wait = cli.Option("wait") is { } text ? ParseDuration(text, "--wait") : TimeSpan.FromMinutes(5);
        if (wait < TimeSpan.Zero)
        {
            throw new CliException("--wait must not be negative.");
        }

        await services.MigrateDatabaseAsync(cancellationToken);
        var time = services.GetRequiredService<TimeProvider>();
        var started = time.GetUtcNow();
        DateTimeOffset? lastPrinted = null;
        void Waiting(ExportLease lease)
        {
            var now = time.GetUtcNow();
            if (lastPrinted is { } last && now - last < TimeSpan.FromSeconds(5))
            {
                return;
            }

            lastPrinted = now;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Waiting for the export pass of {lease.Holder} to end (its lease runs to {lease.ExpiresAt:HH:mm:ss} UTC unless renewed; waited {(now - started).TotalSeconds:0} s of {wait.TotalSeconds:0} s)..."));
        }

        var result = await services.GetRequiredService<UsageExporter>().RunPassAsync(wait, Waiting, cancellationToken);
        if (!result.Ran)
        {
            Console.WriteLine(lastPrinted is null
                ? $"Nothing exported: {result.Reason}"
                : string.Create(CultureInfo.InvariantCulture, $"Nothing exported: {result.Reason} (still, after waiting {wait.TotalSeconds:0} s; try a longer --wait)"));
            return result.Reason?.StartsWith("Stripe:ApiKey", StringComparison.Ordinal) == true ? 0 : 1;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.RecordsClaimed} records into buckets; {result.BucketsAccepted} buckets accepted, {result.BucketsRetrying} to retry, {result.BucketsDeadLettered} dead-lettered; {result.StripeCalls} {result.Transport} calls."));
        if (result.Reason is not null)
        {
            Console.WriteLine(result.Reason);
        }

        return 0;
    }

    private static async Task<int> BillingReconcileAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        RequireStripe(services);
        await services.MigrateDatabaseAsync(cancellationToken);
        DateTimeOffset? Day(string name) => cli.Option(name) is { } text ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;
        var result = await services.GetRequiredService<Reconciler>().RunAsync(Day("start"), Day("end"), cli.Flag("fix"), cancellationToken);
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
    }

    private static async Task<int> BillingStatusAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        var status = await services.GetRequiredService<BillingAdmin>().StatusAsync(cancellationToken);
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
    }

    private static async Task<int> DeadLettersAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        if (cli.Flag("retry"))
        {
            int count = await services.GetRequiredService<UsageExporter>().RetryDeadLettersAsync(null, cancellationToken);
            Console.WriteLine($"{count} dead-lettered buckets are pending again.");
            return 0;
        }

        foreach (var b in await services.GetRequiredService<BillingAdmin>().DeadLettersAsync(cancellationToken))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{b.Id,8} {b.CustomerId,-16} {b.Meter,-14} {b.BucketStart:u} {b.Value,10}  {b.LastError}"));
        }

        return 0;
    }

    private static async Task<int> DashboardLinkAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        string customer = cli.Required("customer");
        await using (var db = await services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContextAsync(cancellationToken))
        {
            if (!await db.Customers.AnyAsync(c => c.Id == customer, cancellationToken))
            {
                throw new CliException($"No customer '{customer}': create one with 'keys create --customer {customer}' or 'customers create --id {customer}'.");
            }
        }

        var lifetime = cli.Option("expires-in") is { } text
            ? ParseDuration(text)
            : services.GetRequiredService<IOptions<DashboardOptions>>().Value.LinkLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > DashboardOptions.MaxLinkLifetime)
        {
            throw new CliException($"--expires-in must be more than 0 and at most {DashboardOptions.MaxLinkLifetime.TotalDays:0} days.");
        }

        string baseUrl = (cli.Option("base-url") ?? "http://127.0.0.1:7071").TrimEnd('/');
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException("--base-url must be an http or https URL, e.g. https://myapp.azurewebsites.net.");
        }

        var now = DateTimeOffset.UtcNow;
        string token = services.GetRequiredService<DashboardTokens>().CreateLink(customer, now, lifetime);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Sign-in link for customer '{customer}', valid until {now + lifetime:u}. Anyone holding it can open that customer's dashboard; send it privately."));
        Console.WriteLine($"{baseUrl}/dashboard#link={token}");
        return 0;
    }

    // "90s", "15m", "2h", "7d", or a TimeSpan such as 00:15:00.
    private static TimeSpan ParseDuration(string text, string option = "--expires-in")
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

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span)
            ? span
            : throw new CliException($"{option} must look like 90s, 15m, 2h or 7d; got '{text}'.");
    }

    private static async Task<bool> IsUploadedAsync(IServiceProvider services, ModelDefinition model, CancellationToken cancellationToken)
    {
        try
        {
            await services.GetRequiredService<ModelCache>().FetchManifestAsync(model, cancellationToken);
            return true;
        }
        catch (ModelUnavailableException ex) when (ex.Reason == ModelUnavailableReason.ManifestMissing)
        {
            return false;
        }
    }

    private static async Task<int> CreateKeyAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        string customer = cli.Required("customer");
        string name = cli.Option("name") ?? "default";
        var models = cli.Option("models")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        DateTimeOffset? expires = cli.Option("expires-in-days") is { } days
            ? DateTimeOffset.UtcNow.AddDays(double.Parse(days, CultureInfo.InvariantCulture))
            : null;
        var permissions = cli.Option("permissions")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        CreatedApiKey created;
        try
        {
            created = await services.GetRequiredService<ApiKeyService>().CreateAsync(customer, name, models, expires, permissions, cancellationToken);
        }
        catch (ArgumentException ex) when (ex.ParamName == ApiKeyPermissions.ParamName)
        {
            throw new CliException($"--permissions: {ex.Message}");
        }

        Console.Error.WriteLine($"Created key {created.Info.KeyId} for customer '{created.Info.CustomerId}'. It is shown once; store it now:");
        Console.WriteLine(created.Key);
        return 0;
    }

    private static async Task<int> ListKeysAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        var keys = await services.GetRequiredService<ApiKeyService>().ListAsync(cli.Option("customer"), cancellationToken);
        Console.WriteLine($"{"ID",-14} {"CUSTOMER",-16} {"NAME",-16} {"STATUS",-8} {"KEY",-34} {"MODELS",-12} {"PERMISSIONS",-42} CREATED");
        foreach (var key in keys)
        {
            string models = key.ModelScope.Count == 0 ? "*" : string.Join(',', key.ModelScope);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{key.KeyId,-14} {key.CustomerId,-16} {key.Name,-16} {key.Status.ToString().ToLowerInvariant(),-8} {key.MaskedKey,-34} {models,-12} {string.Join(',', key.Permissions),-42} {key.CreatedAt:u}"));
        }

        return 0;
    }

    private static async Task<int> RevokeKeyAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        await services.MigrateDatabaseAsync(cancellationToken);
        string keyId = cli.Position(2, "key id (see 'keys list')");
        if (!await services.GetRequiredService<ApiKeyService>().RevokeAsync(keyId, cancellationToken))
        {
            Console.Error.WriteLine($"No key with id '{keyId}'.");
            return 1;
        }

        Console.WriteLine($"Revoked {keyId}.");
        return 0;
    }

    private static async Task<int> ListModelsAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var storage = services.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
        foreach (var model in storage.Models)
        {
            string where = model.IsLocal ? $"local folder {model.LocalPath}" : $"blob {storage.Container}/{model.ResolvedBlobPrefix}";
            string state = model.IsLocal
                ? (Directory.Exists(model.LocalPath) ? "present" : "missing")
                : (await IsUploadedAsync(services, model, cancellationToken) ? "uploaded" : "not uploaded");
            Console.WriteLine($"{model.Id,-24} {where,-48} {state}");
        }

        return 0;
    }

    private static async Task<int> UploadModelAsync(IServiceProvider services, CliArguments cli, CancellationToken cancellationToken)
    {
        string folder = cli.Position(2, "model folder");
        string id = cli.Required("id");
        var manifest = await services.GetRequiredService<ModelBlobUploader>().UploadAsync(folder, id, ProgressPrinter.Create(), cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Uploaded '{id}': {manifest.Files.Count} files, {manifest.TotalSize:N0} bytes, version {manifest.Version}."));
        var storage = services.GetRequiredService<IOptions<ModelStorageOptions>>().Value;
        if (!storage.Models.Any(m => m.Id == id))
        {
            Console.WriteLine($"To serve it, configure ModelStorage__Models__<n>__Id={id} (see README).");
        }

        return 0;
    }
}
