using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Billing;
using Serverless.Core.Metering;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Billing;

/// <summary>Dead letters as the admin sees them: the admin API's status and reconcile, and the CLI (`billing reconcile`, `billing status`) as a real process.</summary>
[Collection(BillingTestGroup.Name)]
public sealed class DeadLetterAccountingTests(BillingFixture billing)
{
    [Fact]
    public async Task Dead_lettered_usage_is_a_reconciliation_difference_in_the_admin_api_and_the_cli_exits_non_zero_even_with_fix()
    {
        var meters = await billing.Services.GetRequiredService<BillingSetup>().EnsureMetersAsync(CancellationToken.None);
        string input = meters.Single(m => m.Kind == MeterKind.InputTokens).EventName;
        var customer = await billing.CustomerAsync("cli-held-co");
        var meter = billing.Stripe.Meters.Single(m => m.EventName == input);
        await billing.Stripe.CreateClient().V1.Billing.Meters.DeactivateAsync(meter.Id);
        try
        {
            await billing.SeedUsageAsync(customer.Id, [DateTimeOffset.UtcNow.AddMinutes(-30)]);
            await billing.Exporter.RunPassAsync(CancellationToken.None);
        }
        finally
        {
            await billing.Stripe.CreateClient().V1.Billing.Meters.ReactivateAsync(meter.Id);
        }

        long deadId;
        await using (var db = billing.Database())
        {
            deadId = await db.Set<ExportBucket>().Where(b => b.CustomerId == customer.Id && b.Status == ExportStatus.DeadLetter).Select(b => b.Id).SingleAsync();
        }

        using var admin = billing.CreateClient(billing.AdminKey);
        var status = await (await admin.GetAsync("/v1/admin/billing/status")).ReadJsonAsync();
        Assert.True(status.GetProperty("dead_letter_buckets").GetInt64() >= 1);
        Assert.True(status.GetProperty("dead_letter_tokens").GetInt64() >= 10);

        using (var response = await admin.PostJsonAsync("/v1/admin/billing/reconcile", """{"fix":true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var run = await response.ReadJsonAsync();
            var line = run.GetProperty("lines").EnumerateArray()
                .Single(l => l.GetProperty("customer_id").GetString() == customer.Id && l.GetProperty("meter").GetString() == MeterKind.InputTokens);
            Assert.Equal(ReconciliationStatus.DeadLettered, line.GetProperty("status").GetString());
            Assert.Equal(10, line.GetProperty("dead_lettered").GetInt64());
            Assert.Equal(0, line.GetProperty("pending").GetInt64());
            Assert.True(run.GetProperty("differences").GetInt32() >= 1);
            Assert.True(run.GetProperty("dead_lettered").GetInt64() >= 10);
        }

        await using var cli = new LocalHostProcess(billing.Settings);
        var reconcile = await cli.RunCommandAsync("billing", "reconcile", "--fix");
        Assert.True(reconcile.ExitCode != 0, reconcile.Output);
        var cliLine = reconcile.Output.Split('\n').Single(l => l.StartsWith(customer.Id, StringComparison.Ordinal) && l.Contains(MeterKind.InputTokens, StringComparison.Ordinal));
        Assert.Contains(" dead_lettered - 10 tokens dead-lettered", cliLine, StringComparison.Ordinal);
        Assert.Contains("billing dead-letters --retry", reconcile.Output, StringComparison.Ordinal);

        var cliStatus = await cli.RunCommandAsync("billing", "status");
        Assert.Equal(0, cliStatus.ExitCode);
        Assert.Matches(@"dead-lettered [1-9]\d* \([1-9]\d* tokens\)", cliStatus.Output);

        // Still a dead letter: --fix neither resent it nor papered over it with a correction.
        Assert.Equal(0, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
        await using (var db = billing.Database())
        {
            Assert.Equal(ExportStatus.DeadLetter, (await db.Set<ExportBucket>().SingleAsync(b => b.Id == deadId)).Status);
            Assert.False(await db.Set<ExportBucket>().AnyAsync(b => b.CustomerId == customer.Id && b.IsCorrection));
        }

        // The operator's retry settles it, and the CLI then reports the line as agreeing.
        using (var retry = await admin.PostJsonAsync("/v1/admin/billing/dead-letters/retry", $$"""{"ids":[{{deadId}}]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        }

        await billing.DrainAsync();
        var settled = await cli.RunCommandAsync("billing", "reconcile");
        Assert.Contains(settled.Output.Split('\n'), l => l.StartsWith(customer.Id, StringComparison.Ordinal) && l.Contains(MeterKind.InputTokens, StringComparison.Ordinal) && l.TrimEnd().EndsWith(" ok", StringComparison.Ordinal));
        Assert.Equal(10, billing.Stripe.TotalFor(customer.StripeCustomerId!, input));
    }
}
