using System.Net;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Keys;
using Serverless.Integration.Tests.Fixtures;

namespace Serverless.Integration.Tests.Billing;

[Collection(BillingTestGroup.Name)]
public sealed class CustomerTests(BillingFixture billing)
{
    [Fact]
    public async Task Creating_a_customer_creates_its_stripe_customer_once_and_an_existing_one_can_be_linked()
    {
        using var admin = billing.CreateClient(billing.AdminKey);
        using var created = await admin.PostJsonAsync("/v1/admin/customers", """{"id":"stripe-new-co","name":"New Co"}""");
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        string stripeId = (await created.ReadJsonAsync()).GetProperty("stripe_customer_id").GetString()!;
        Assert.Contains(billing.Stripe.Customers, c => c.Id == stripeId && c.Name == "New Co");

        using var again = await admin.PostJsonAsync("/v1/admin/customers", """{"id":"stripe-new-co"}""");
        Assert.Equal(stripeId, (await again.ReadJsonAsync()).GetProperty("stripe_customer_id").GetString());
        Assert.Single(billing.Stripe.Customers, c => c.Name == "New Co");

        var existing = billing.Stripe.AddCustomer("Existing Co");
        using var linked = await admin.PostJsonAsync("/v1/admin/customers", $$"""{"id":"stripe-linked-co","stripe_customer_id":"{{existing.Id}}"}""");
        Assert.Equal(existing.Id, (await linked.ReadJsonAsync()).GetProperty("stripe_customer_id").GetString());
        await using var db = billing.Database();
        Assert.Equal(existing.Id, (await db.Customers.SingleAsync(c => c.Id == "stripe-linked-co")).StripeCustomerId);

        using var bad = await admin.PostJsonAsync("/v1/admin/customers", """{"id":"bad id!"}""");
        await bad.ReadErrorAsync(400);
    }
}
