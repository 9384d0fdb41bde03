using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Core.Billing;
using Serverless.Core.Data;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;
using Serverless.Testing.Stripe;

namespace Serverless.Integration.Tests.Billing;

/// <summary>
/// The export lease: one exporter at a time, kept while a Stripe call is held open longer than the lease, released
/// at the end of a pass, waited for by "export now", and taken over from a holder that died. The exporters here are
/// other instances (their own instance id, lease length and Stripe timeout) over the billing fixture's database.
/// </summary>
[Collection(BillingTestGroup.Name)]
public sealed class ExportLeaseTests(BillingFixture billing) : IDisposable
{
    private static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(1.5);

    private static readonly DateTimeOffset Base = TruncateToMinute(DateTimeOffset.UtcNow.AddHours(-9));

    private readonly List<StripeClientFactory> _clients = [];

    public void Dispose()
    {
        billing.Stripe.StopFailing();
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private static DateTimeOffset TruncateToMinute(DateTimeOffset time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    /// <summary>Another exporter instance: its own instance id, one v1 call per bucket, calls allowed to stay open for a minute.</summary>
    private (UsageExporter Exporter, InstanceIdentity Identity) NewExporter(TimeSpan lease, int maxParallelCalls = 8, ILogger<UsageExporter>? logger = null)
    {
        var options = Options.Create(new StripeOptions
        {
            ApiKey = billing.Stripe.ApiKey,
            ApiBase = billing.Stripe.ApiBase,
            MeterEventsBase = billing.Stripe.MeterEventsBase,
            StreamThreshold = 1_000_000,
            MaxParallelCalls = maxParallelCalls,
            RequestTimeout = TimeSpan.FromMinutes(1),
            RetryDelay = TimeSpan.Zero,
            MaxRetryDelay = TimeSpan.Zero,
            ExportLease = lease,
        });
        var clients = new StripeClientFactory(options);
        _clients.Add(clients);
        var identity = new InstanceIdentity(TimeProvider.System);
        var exporter = new UsageExporter(
            billing.Services.GetRequiredService<LedgerWriter>(),
            billing.Services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>(),
            new MeterEventSender(clients, TimeProvider.System),
            identity,
            options,
            TimeProvider.System,
            logger ?? NullLogger<UsageExporter>.Instance);
        return (exporter, identity);
    }

    /// <summary>Meters set up and nothing else pending, so the next meter event call is this test's.</summary>
    private async Task<(string Input, string Output)> ReadyAsync()
    {
        var meters = await billing.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        await billing.DrainAsync();
        return (meters.Single(m => m.Kind == MeterKind.InputTokens).EventName, meters.Single(m => m.Kind == MeterKind.OutputTokens).EventName);
    }

    private async Task<ExportLease?> LeaseRowAsync()
    {
        await using var db = billing.Database();
        return await db.Set<ExportLease>().AsNoTracking().SingleOrDefaultAsync(l => l.Name == UsageExporter.LeaseName);
    }

    private async Task<List<ExportBucket>> BucketsOf(string customer)
    {
        await using var db = billing.Database();
        return await db.Set<ExportBucket>().AsNoTracking().Where(b => b.CustomerId == customer).OrderBy(b => b.Id).ToListAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_second_exporter_cannot_send_while_the_first_holds_a_call_open_longer_than_the_lease_and_exports_after_it()
    {
        var (input, output) = await ReadyAsync();
        var customer = await billing.CustomerAsync("lease-hung-co");
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(1)]);
        var (first, _) = NewExporter(ShortLease);
        var (second, _) = NewExporter(ShortLease);
        int rejectionsBefore = billing.Stripe.ConcurrencyRejections;

        var held = billing.Stripe.PauseNext(StripeEndpoint.MeterEvents);
        var pass = first.RunPassAsync(CancellationToken.None);
        await held.Arrived.WaitAsync(TimeSpan.FromSeconds(30));

        // The call stays open for three lease durations; all that time the second exporter keeps trying and never runs.
        var open = Stopwatch.StartNew();
        int tries = 0;
        while (open.Elapsed < ShortLease * 3)
        {
            var refused = await second.RunPassAsync(CancellationToken.None);
            Assert.False(refused.Ran);
            Assert.Equal("Another instance is exporting.", refused.Reason);
            tries++;
            await Task.Delay(100);
        }

        Assert.False(pass.IsCompleted);
        Assert.True(tries > 10, $"only {tries} tries");
        held.Release();
        var result = await pass.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.Ran);
        Assert.Null(result.Reason);
        Assert.Equal(2, result.BucketsAccepted);

        // Once the first pass is over, the second exporter exports at once.
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(2)]);
        var next = await second.RunPassAsync(CancellationToken.None);
        Assert.True(next.Ran);
        Assert.Equal(2, next.BucketsAccepted);

        Assert.Equal(rejectionsBefore, billing.Stripe.ConcurrencyRejections);
        Assert.Equal(1, billing.Stripe.PeakInFlightFor(customer.StripeCustomerId!, input));
        Assert.Equal(1, billing.Stripe.PeakInFlightFor(customer.StripeCustomerId!, output));
        Assert.Equal(20, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
        Assert.Equal(40, billing.Stripe.TotalFor(customer.StripeCustomerId!, output));
    }

    [Fact]
    public async Task A_pass_that_loses_its_lease_starts_no_new_stripe_call_and_leaves_the_new_holders_lease_alone()
    {
        var (input, _) = await ReadyAsync();
        var customer = await billing.CustomerAsync("lease-lost-co");
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(10), Base.AddMinutes(11), Base.AddMinutes(12)]);
        var log = new RecordingLogger<UsageExporter>();
        var (first, _) = NewExporter(ShortLease, maxParallelCalls: 1, logger: log);
        int callsBefore = billing.Stripe.CallCount(StripeEndpoint.MeterEvents);

        var held = billing.Stripe.PauseNext(StripeEndpoint.MeterEvents);
        var pass = first.RunPassAsync(CancellationToken.None);
        await held.Arrived.WaitAsync(TimeSpan.FromSeconds(30));

        try
        {
            // Another holder has the lease now (as if the renewals had stopped reaching the database for a while).
            await using (var db = billing.Database())
            {
                await db.Set<ExportLease>().Where(l => l.Name == UsageExporter.LeaseName).ExecuteUpdateAsync(set => set
                    .SetProperty(l => l.Holder, "other-instance")
                    .SetProperty(l => l.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(5)));
            }

            await WaitUntilAsync(() => log.Entries.Any(e => e.Message.Contains("lost", StringComparison.Ordinal)), "the renewal to find the lease lost");
            held.Release();
            var result = await pass.WaitAsync(TimeSpan.FromSeconds(30));

            // The call that was open completes; no other is started: five buckets wait, untried, for the next holder.
            Assert.Equal(1, billing.Stripe.CallCount(StripeEndpoint.MeterEvents) - callsBefore);
            Assert.True(result.Ran);
            Assert.Equal(1, result.BucketsAccepted);
            Assert.Contains("lease was lost", result.Reason, StringComparison.Ordinal);
            var buckets = await BucketsOf(customer.Id);
            Assert.Single(buckets, b => b.Status == ExportStatus.Accepted);
            Assert.All(buckets.Where(b => b.Status != ExportStatus.Accepted), b => Assert.Equal((ExportStatus.Pending, 0), (b.Status, b.Attempts)));
            Assert.Equal("other-instance", (await LeaseRowAsync())?.Holder);
        }
        finally
        {
            held.Release();
            await using var db = billing.Database();
            await db.Set<ExportLease>().Where(l => l.Name == UsageExporter.LeaseName && l.Holder == "other-instance").ExecuteDeleteAsync();
        }

        await billing.DrainAsync();
        Assert.Equal(30, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
    }

    [Fact]
    public async Task A_finished_pass_releases_the_lease_so_another_exporter_takes_it_at_once()
    {
        await ReadyAsync();
        var customer = await billing.CustomerAsync("lease-release-co");
        var (first, _) = NewExporter(TimeSpan.FromMinutes(5));
        var (second, _) = NewExporter(TimeSpan.FromMinutes(5));

        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(20)]);
        var one = await first.RunPassAsync(CancellationToken.None);
        Assert.True(one.Ran);
        Assert.Equal(2, one.BucketsAccepted);
        Assert.Null(await LeaseRowAsync());

        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(21)]);
        var two = await second.RunPassAsync(CancellationToken.None);
        Assert.True(two.Ran);
        Assert.Equal(2, two.BucketsAccepted);
        Assert.Null(await LeaseRowAsync());
    }

    [Fact]
    public async Task Export_now_waits_for_a_running_pass_and_then_exports_instead_of_failing()
    {
        var (input, _) = await ReadyAsync();
        var customer = await billing.CustomerAsync("lease-wait-co");
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(30)]);
        var (running, runningIdentity) = NewExporter(ShortLease);
        var (now, _) = NewExporter(ShortLease);

        var held = billing.Stripe.PauseNext(StripeEndpoint.MeterEvents);
        var pass = running.RunPassAsync(CancellationToken.None);
        await held.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(31)]);

        var waitedFor = new TaskCompletionSource<ExportLease>(TaskCreationOptions.RunContinuationsAsynchronously);
        var exportNow = now.RunPassAsync(TimeSpan.FromSeconds(60), lease => waitedFor.TrySetResult(lease), CancellationToken.None);
        var holder = await waitedFor.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(runningIdentity.InstanceId, holder.Holder);
        Assert.False(exportNow.IsCompleted);

        held.Release();
        var first = await pass.WaitAsync(TimeSpan.FromSeconds(30));
        var result = await exportNow.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, first.BucketsAccepted);
        Assert.True(result.Ran);
        Assert.Equal(2, result.BucketsAccepted);
        Assert.Equal(20, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
    }

    [Fact]
    public async Task The_billing_export_command_waits_for_a_running_pass_printing_progress_and_then_exports()
    {
        await ReadyAsync();
        var customer = await billing.CustomerAsync("lease-cli-co");
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(40)]);
        var (service, _) = NewExporter(ShortLease);

        var held = billing.Stripe.PauseNext(StripeEndpoint.MeterEvents);
        var pass = service.RunPassAsync(CancellationToken.None);
        await held.Arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(41)]);

        await using var cli = new LocalHostProcess(billing.Settings);
        var command = cli.RunCommandAsync("billing", "export", "--wait", "60s");
        await WaitUntilAsync(() => cli.Output.Contains("Waiting for the export pass of", StringComparison.Ordinal) || command.IsCompleted, "the command to wait");
        Assert.False(command.IsCompleted, cli.Output);

        held.Release();
        await pass.WaitAsync(TimeSpan.FromSeconds(30));
        var result = await command;
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("2 buckets accepted", result.Output, StringComparison.Ordinal);
        Assert.All(await BucketsOf(customer.Id), b => Assert.Equal(ExportStatus.Accepted, b.Status));
    }

    [Fact]
    public async Task A_holder_that_died_mid_pass_is_taken_over_once_its_lease_runs_out()
    {
        await ReadyAsync();
        var customer = await billing.CustomerAsync("lease-crash-co");
        await billing.SeedUsageAsync(customer.Id, [Base.AddMinutes(50)]);
        var lease = TimeSpan.FromSeconds(2);

        // What a killed exporter leaves behind: its lease row as last renewed, never released.
        var diedAt = DateTimeOffset.UtcNow;
        Assert.True(await billing.Services.GetRequiredService<LedgerWriter>().SubmitAsync(
            new ExportLeaseCommand(UsageExporter.LeaseName, "crashed-host:4242:deadbeef", diedAt, lease)));

        var (survivor, _) = NewExporter(lease);
        Assert.False((await survivor.RunPassAsync(CancellationToken.None)).Ran);
        var result = await survivor.RunPassAsync(TimeSpan.FromSeconds(60), null, CancellationToken.None);
        var tookOverAt = DateTimeOffset.UtcNow;

        Assert.True(result.Ran);
        Assert.Equal(2, result.BucketsAccepted);
        Assert.InRange(tookOverAt - diedAt, lease, lease + TimeSpan.FromSeconds(10));
        Assert.Null(await LeaseRowAsync());
    }
}
