using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Billing;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Service;

/// <summary>Without a Stripe key the service works, nothing is exported, and usage waits in the outbox.</summary>
[Collection(ServiceTestGroup.Name)]
public sealed class BillingDisabledTests(ServiceFixture service)
{
    [Fact]
    public async Task Without_a_stripe_key_the_exporter_does_not_run_and_usage_stays_pending()
    {
        using var client = service.CreateClient();
        using var response = await client.PostJsonAsync("/v1/completions", """{"model":"demo","prompt":"Hi","max_tokens":2}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var result = await service.Services.GetRequiredService<UsageExporter>().RunPassAsync(CancellationToken.None);
        Assert.False(result.Ran);
        Assert.Contains("Stripe:ApiKey", result.Reason, StringComparison.Ordinal);

        await using var db = service.Database();
        Assert.True(await db.Set<ExportQueueItem>().AnyAsync(q => q.CustomerId == "acme"));
        Assert.False(await db.Set<ExportBucket>().AnyAsync());

        using var admin = service.CreateClient(service.AdminKey);
        var status = await (await admin.GetAsync("/v1/admin/billing/status")).ReadJsonAsync();
        Assert.False(status.GetProperty("stripe_configured").GetBoolean());
        Assert.True(status.GetProperty("outbox_records").GetInt64() > 0);

        using var webhook = await client.PostJsonAsync("/stripe/webhook", "{}");
        Assert.Equal("webhook_not_configured", (await webhook.ReadErrorAsync(503)).GetProperty("code").GetString());
    }
}
