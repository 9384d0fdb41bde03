using System.Text.RegularExpressions;
using Serverless.Integration.Tests.Fixtures;
using Serverless.Local.Cli;

namespace Serverless.Integration.Tests.Cli;

/// <summary>
/// The admin command line's own behaviour (the commands' work is tested with their features): help for every
/// noun, and a clear error with exit code 2 for what it does not know, before it builds or migrates anything.
/// </summary>
public sealed partial class AdminCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("serverless-cli-").FullName;

    private string DatabaseFile => Path.Combine(_folder, "serverless.db");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Help_for_a_noun_lists_its_commands_and_help_for_a_command_its_options()
    {
        await using var cli = NewCli();

        var keys = await cli.RunCommandAsync("keys", "--help");
        var create = await cli.RunCommandAsync("keys", "create", "-h");
        var root = await cli.RunCommandAsync("help");

        Assert.True(keys.ExitCode == 0, keys.Output);
        Assert.Contains("./run.sh keys [command]", keys.Output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+create\s", keys.Output);
        Assert.Matches(@"(?m)^\s+list\s", keys.Output);
        Assert.Matches(@"(?m)^\s+revoke <key-id>\s", keys.Output);
        Assert.True(create.ExitCode == 0, create.Output);
        Assert.Contains("--customer <C> (REQUIRED)", create.Output, StringComparison.Ordinal);
        Assert.Contains("--permissions <p,q>", create.Output, StringComparison.Ordinal);
        Assert.Contains("inference,batches,usage.read,keys.manage", create.Output, StringComparison.Ordinal);
        Assert.True(root.ExitCode == 0, root.Output);
        foreach (string noun in new[] { "setup", "migrate", "keys", "models", "prices", "limits", "usage", "customers", "billing", "dashboard" })
        {
            Assert.Matches($@"(?m)^\s+{noun}\s", root.Output);
        }

        Assert.False(File.Exists(DatabaseFile));
    }

    [Fact]
    public async Task Keys_create_without_models_or_permissions_gives_a_key_the_defaults_and_a_list_narrows_them()
    {
        await using var cli = new LocalHostProcess(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={DatabaseFile}",
            ["Keys:HashSecret"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)),
            ["Admin:Key"] = "admin-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
        });

        var plain = await cli.RunCommandAsync("keys", "create", "--customer", "acme");
        var narrow = await cli.RunCommandAsync("keys", "create", "--customer", "acme", "--name", "narrow", "--models", "demo", "--permissions", "batches");
        var list = await cli.RunCommandAsync("keys", "list", "--customer", "acme");

        Assert.True(plain.ExitCode == 0, plain.Output);
        Assert.True(narrow.ExitCode == 0, narrow.Output);
        Assert.Matches(@"(?m)^\S+\s+acme\s+default\s+active\s+\S+\s+\*\s+inference,batches,usage\.read\s", list.Output);
        Assert.Matches(@"(?m)^\S+\s+acme\s+narrow\s+active\s+\S+\s+demo\s+batches\s", list.Output);
    }

    [Fact]
    public async Task An_unknown_option_or_a_value_that_does_not_read_is_an_error_with_exit_code_2_before_anything_is_migrated()
    {
        await using var cli = NewCli();

        var unknown = await cli.RunCommandAsync("keys", "list", "--bogus");
        var unread = await cli.RunCommandAsync("limits", "set", "--customer", "acme", "--rpm", "lots");
        var missing = await cli.RunCommandAsync("prices", "set", "--model", "demo", "--input", "1");

        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("Unrecognized command or argument '--bogus'.", unknown.Output, StringComparison.Ordinal);
        Assert.Contains("./run.sh keys list [options]", unknown.Output, StringComparison.Ordinal);
        Assert.Equal(2, unread.ExitCode);
        Assert.Contains("--rpm must be a non-negative integer; got 'lots'.", unread.Output, StringComparison.Ordinal);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Option '--output' is required.", missing.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(DatabaseFile));
    }

    [Fact]
    public async Task An_unknown_command_is_an_error_suggesting_the_nearest_one_rather_than_a_server_starting()
    {
        await using var cli = NewCli();

        var noun = await cli.RunCommandAsync("keyz", "list");
        var verb = await cli.RunCommandAsync("billing", "exprot");

        Assert.Equal(2, noun.ExitCode);
        Assert.Contains("Unrecognized command or argument 'keyz'.", noun.Output, StringComparison.Ordinal);
        Assert.Contains("Did you mean one of the following?\nkeys", noun.Output, StringComparison.Ordinal);
        Assert.Equal(2, verb.ExitCode);
        Assert.Contains("Unrecognized command or argument 'exprot'.", verb.Output, StringComparison.Ordinal);
        Assert.Contains("./run.sh billing [command]", verb.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(DatabaseFile));
    }

    [Fact]
    public void Every_command_line_the_readme_shows_parses_without_errors()
    {
        var commands = File.ReadLines(Path.Combine(RepositoryRoot.Path, "README.md"))
            .Concat(File.ReadLines(Path.Combine(RepositoryRoot.Path, "infra", "README.md")))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("./run.sh ", StringComparison.Ordinal))
            .Select(Arguments)
            .Where(args => args.Length > 0)
            .ToList();

        Assert.True(commands.Count >= 20, $"only {commands.Count} command lines found in the READMEs");
        var failures = commands
            .Select(args => (Line: string.Join(' ', args), AdminCli.Create().Parse(args).Errors))
            .Where(parsed => parsed.Errors.Count > 0)
            .Select(parsed => $"{parsed.Line}: {string.Join(" ", parsed.Errors.Select(e => e.Message))}")
            .ToList();
        Assert.Empty(failures);
    }

    /// <summary>
    /// The words after <c>./run.sh</c> as a shell would pass them, up to a comment or redirection, with optional
    /// parts (<c>[--seed 42]</c>) included and placeholders (<c>&lt;key-id&gt;</c>) given a value.
    /// </summary>
    private static string[] Arguments(string line)
    {
        string command = CommentOrRedirection().Replace(line["./run.sh ".Length..], string.Empty);
        command = Placeholder().Replace(command.Replace("[", string.Empty, StringComparison.Ordinal).Replace("]", string.Empty, StringComparison.Ordinal), "x");
        return [.. Word().Matches(command).Select(m => m.Groups["quoted"].Success ? m.Groups["quoted"].Value : m.Value)];
    }

    private LocalHostProcess NewCli() => new(new Dictionary<string, string?>
    {
        ["Database:ConnectionString"] = $"Data Source={DatabaseFile}",
    });

    [GeneratedRegex(@"\s(#|>).*$")]
    private static partial Regex CommentOrRedirection();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Placeholder();

    [GeneratedRegex("\"(?<quoted>[^\"]*)\"|[^\\s\"]+")]
    private static partial Regex Word();
}
