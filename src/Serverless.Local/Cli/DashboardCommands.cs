using System.CommandLine;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Dashboard;
using Serverless.Core.Keys;

namespace Serverless.Local.Cli;

/// <summary><c>dashboard link</c>: a signed sign-in link to a customer's dashboard.</summary>
internal static class DashboardCommands
{
    public static Command Create() => new("dashboard", "The customer dashboard: link (a signed sign-in link).") { Link() };

    private static Command Link()
    {
        var customer = CliValues.Text("--customer", "C", "the customer whose dashboard it opens", required: true);
        var expiresIn = CliValues.Duration("--expires-in", $"how long it works (default: Dashboard:LinkLifetime; at most {DashboardOptions.MaxLinkLifetime.TotalDays:0} days)");
        var baseUrl = CliValues.Text("--base-url", "URL", "the service's address (default: http://127.0.0.1:7071)");
        return new Command("link", "Print a signed sign-in link to a customer's dashboard (stdout); send it privately.") { customer, expiresIn, baseUrl }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                string customerId = parse.GetRequiredValue(customer);
                await using (var db = await cli.DatabaseAsync(cancellationToken))
                {
                    if (!await db.Customers.AnyAsync(c => c.Id == customerId, cancellationToken))
                    {
                        throw new CliException($"No customer '{customerId}': create one with 'keys create --customer {customerId}' or 'customers create --id {customerId}'.");
                    }
                }

                var lifetime = parse.GetValue(expiresIn) ?? cli.Dashboard.LinkLifetime;
                if (lifetime <= TimeSpan.Zero || lifetime > DashboardOptions.MaxLinkLifetime)
                {
                    throw new CliException($"--expires-in must be more than 0 and at most {DashboardOptions.MaxLinkLifetime.TotalDays:0} days.");
                }

                string url = (parse.GetValue(baseUrl) ?? "http://127.0.0.1:7071").TrimEnd('/');
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    throw new CliException("--base-url must be an http or https URL, e.g. https://myapp.azurewebsites.net.");
                }

                var now = DateTimeOffset.UtcNow;
                string token = cli.DashboardTokens.CreateLink(customerId, now, lifetime);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Sign-in link for customer '{customerId}', valid until {now + lifetime:u}. Anyone holding it can open that customer's dashboard; send it privately."));
                Console.WriteLine($"{url}/dashboard#link={token}");
                return 0;
            });
    }
}
