namespace Serverless.Testing.Stripe;

/// <summary>POST /v1/customers and GET /v1/customers/{id}.</summary>
internal static class CustomerHandlers
{
    private static readonly HashSet<string> CreateParameters = ["name", "email", "description", "metadata", "phone", "expand"];

    public static FakeStripeResponse Create(FakeStripeStore store, FakeStripeRequest request)
    {
        var form = request.Parameters;
        if (form.FirstUnknown(CreateParameters) is { } unknown)
        {
            return StripeErrors.Unknown(unknown);
        }

        var customer = new FakeStripeCustomer(
            StripeEventPayloads.NewId("cus_"), form["name"], form["email"], form["description"],
            form.Hash("metadata") ?? [], request.Now);
        store.Customers.Add(customer.Id, customer);
        return FakeStripeResponse.Ok(StripeJson.Customer(customer));
    }

    public static FakeStripeResponse Retrieve(FakeStripeStore store, FakeStripeRequest request)
    {
        var id = request.Segments[2];
        return store.Customers.TryGetValue(id, out var customer)
            ? FakeStripeResponse.Ok(StripeJson.Customer(customer))
            : StripeErrors.NoSuch("customer", id);
    }
}
