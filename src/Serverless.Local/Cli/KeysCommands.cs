using System.CommandLine;
using System.Globalization;
using Serverless.Core.Keys;

namespace Serverless.Local.Cli;

/// <summary><c>keys create | list | revoke</c>.</summary>
internal static class KeysCommands
{
    public static Command Create() => new("keys", "API keys: create (the key is shown once), list, revoke.") { CreateKey(), List(), Revoke() };

    private static Command CreateKey()
    {
        var customer = CliValues.Text("--customer", "C", "the customer the key belongs to (created if new)", required: true);
        var name = CliValues.Text("--name", "N", "the key's name (default: default)");
        var models = CliValues.List("--models", "a,b", "the models it may use (default: every model)");
        var permissions = CliValues.List(
            "--permissions", "p,q", $"what it may do, of {string.Join(',', ApiKeyPermissions.All)} (default: {string.Join(',', ApiKeyPermissions.Default)})");
        var expiresInDays = CliValues.Number("--expires-in-days", "D", "days until it stops working (default: never)");
        return new Command("create", "Create an API key and print it (on stdout) this once.") { customer, name, models, permissions, expiresInDays }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                DateTimeOffset? expires = parse.GetValue(expiresInDays) is { } days ? DateTimeOffset.UtcNow.AddDays(days) : null;
                CreatedApiKey created;
                try
                {
                    created = await cli.Keys.CreateAsync(
                        parse.GetRequiredValue(customer), parse.GetValue(name) ?? "default", CliValues.Given(parse, models), expires, CliValues.Given(parse, permissions), cancellationToken);
                }
                catch (ArgumentException ex) when (ex.ParamName == ApiKeyPermissions.ParamName)
                {
                    throw new CliException($"--permissions: {ex.Message}");
                }

                Console.Error.WriteLine($"Created key {created.Info.KeyId} for customer '{created.Info.CustomerId}'. It is shown once; store it now:");
                Console.WriteLine(created.Key);
                return 0;
            });
    }

    private static Command List()
    {
        var customer = CliValues.Text("--customer", "C", "only this customer's keys");
        return new Command("list", "List keys with their models and permissions (never the keys themselves).") { customer }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                var keys = await cli.Keys.ListAsync(parse.GetValue(customer), cancellationToken);
                Console.WriteLine($"{"ID",-14} {"CUSTOMER",-16} {"NAME",-16} {"STATUS",-8} {"KEY",-34} {"MODELS",-12} {"PERMISSIONS",-42} CREATED");
                foreach (var key in keys)
                {
                    string models = key.ModelScope.Count == 0 ? "*" : string.Join(',', key.ModelScope);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{key.KeyId,-14} {key.CustomerId,-16} {key.Name,-16} {key.Status.ToString().ToLowerInvariant(),-8} {key.MaskedKey,-34} {models,-12} {string.Join(',', key.Permissions),-42} {key.CreatedAt:u}"));
                }

                return 0;
            });
    }

    private static Command Revoke()
    {
        var keyId = new Argument<string>("key-id") { Description = "the key's id (see 'keys list')" };
        return new Command("revoke", "Revoke a key.") { keyId }
            .WithAction(CliNeeds.Database, async (cli, parse, cancellationToken) =>
            {
                string id = parse.GetRequiredValue(keyId);
                if (!await cli.Keys.RevokeAsync(id, cancellationToken))
                {
                    Console.Error.WriteLine($"No key with id '{id}'.");
                    return 1;
                }

                Console.WriteLine($"Revoked {id}.");
                return 0;
            });
    }
}
