using System.CommandLine;
using Serverless.Core;
using Serverless.Core.Data;

namespace Serverless.Local.Cli;

/// <summary>What a command needs before it runs.</summary>
internal enum CliNeeds
{
    /// <summary>The server's services, without the database (models list, models upload).</summary>
    Services,

    /// <summary>The services and the database, migrated first.</summary>
    Database,

    /// <summary>A Stripe account (Stripe__ApiKey), checked before the database is migrated.</summary>
    StripeAndDatabase,
}

internal static class CliCommands
{
    /// <summary>
    /// Makes <paramref name="command"/> run <paramref name="action"/> with the server's services built from its
    /// configuration, after what it <paramref name="needs"/>: the one place the commands' host is built and the
    /// database migrated.
    /// </summary>
    public static Command WithAction(this Command command, CliNeeds needs, Func<CliContext, ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            var builder = Host.CreateApplicationBuilder([]);
            builder.Logging.ClearProviders();
            builder.AddServerless();
            using var host = builder.Build();
            var context = new CliContext(host.Services);
            if (needs == CliNeeds.StripeAndDatabase)
            {
                context.RequireStripe();
            }

            if (needs != CliNeeds.Services)
            {
                await host.Services.MigrateDatabaseAsync(cancellationToken);
            }

            return await action(context, parse, cancellationToken);
        });
        return command;
    }
}
