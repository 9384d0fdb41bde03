using System.CommandLine;

namespace Serverless.Local.Cli;

/// <summary><c>customers create</c>: a customer billed to a Stripe customer.</summary>
internal static class CustomersCommands
{
    public static Command Create() => new("customers", "Customers billed through Stripe: create.") { CreateCustomer() };

    private static Command CreateCustomer()
    {
        var id = CliValues.Text("--id", "C", "the customer id", required: true);
        var name = CliValues.Text("--name", "N", "the customer's name");
        var stripeCustomer = CliValues.Text("--stripe-customer", "cus_...", "link this existing Stripe customer instead of creating one");
        return new Command("create", "Create a customer and its Stripe customer (or link an existing one).") { id, name, stripeCustomer }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                string? stripeId = parse.GetValue(stripeCustomer);
                if (stripeId is null && !cli.Stripe.Enabled)
                {
                    throw new CliException("Stripe__ApiKey is not set: pass --stripe-customer cus_... to link an existing Stripe customer.");
                }

                var customer = await cli.BillingSetup.EnsureCustomerAsync(parse.GetRequiredValue(id), parse.GetValue(name), stripeId, cancellationToken);
                Console.WriteLine($"Customer '{customer.Id}' ({customer.Name}) is billed to Stripe customer {customer.StripeCustomerId}.");
                return 0;
            });
    }
}
