using System.CommandLine;
using System.CommandLine.Help;
using Microsoft.Extensions.Options;

namespace Serverless.Local.Cli;

/// <summary>
/// The admin command line (<c>./run.sh keys create --customer acme</c>, ...): one command per noun, each in its own
/// file. Without a command, or with <c>serve</c> or a host option first (<c>--urls ...</c>), the program serves instead.
/// </summary>
internal static class AdminCli
{
    private static readonly string[] HelpTokens = ["-h", "--help", "-?"];

    /// <summary>Whether the arguments name an admin command (or ask for help), rather than serving.</summary>
    public static bool IsCommand(string[] args) =>
        args.Length > 0 && args[0] != "serve" && (!args[0].StartsWith('-') || HelpTokens.Contains(args[0]));

    /// <summary>Arguments for the web host: everything after an optional leading "serve".</summary>
    public static string[] ServeArguments(string[] args) => args.Length > 0 && args[0] == "serve" ? args[1..] : args;

    public static async Task<int> RunAsync(string[] args)
    {
        // "@file" is a model folder or an output file here, never a file of more arguments.
        var parse = Create().Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            // The errors (with "did you mean"), then the help of the command they were in, all on stderr: stdout
            // stays the command's output.
            await parse.InvokeAsync(new InvocationConfiguration { Output = Console.Error });
            return 2;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
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

    /// <summary>Every admin command, as <c>--help</c> lists them.</summary>
    internal static Command Create()
    {
        var root = new Command("./run.sh", "Runs an admin command with the service's configuration. Without a command, ./run.sh sets up and serves on http://127.0.0.1:7071.")
        {
            new HelpOption(),
            SetupCommands.Setup(),
            SetupCommands.Migrate(),
            KeysCommands.Create(),
            ModelsCommands.Create(),
            PricesCommands.Create(),
            LimitsCommands.Create(),
            UsageCommands.Create(),
            CustomersCommands.Create(),
            BillingCommands.Create(),
            DashboardCommands.Create(),
            StatusCommands.Create(),
        };

        // "./run.sh help" as well as "./run.sh --help".
        var help = new Command("help", "Show help and usage information") { Hidden = true };
        help.SetAction(_ => new HelpAction().Invoke(root.Parse(["--help"])));
        root.Subcommands.Add(help);
        return root;
    }
}
