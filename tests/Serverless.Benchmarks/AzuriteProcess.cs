using System.Globalization;

namespace Serverless.Benchmarks;

/// <summary>A private in-memory Azurite on free ports: where the service finds the model, as in production.</summary>
internal sealed class AzuriteProcess : IDisposable
{
    private const string AccountName = "devstoreaccount1";

    // Azurite's well-known development account key (public, documented).
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly ChildProcess _process;

    private AzuriteProcess(ChildProcess process, int[] ports)
    {
        _process = process;
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Text(ports[0])}/{AccountName};";
        StorageConnectionString = ConnectionString
            + $"QueueEndpoint=http://127.0.0.1:{Text(ports[1])}/{AccountName};TableEndpoint=http://127.0.0.1:{Text(ports[2])}/{AccountName};";
    }

    /// <summary>Blob storage only: where the models and files are.</summary>
    public string ConnectionString { get; }

    /// <summary>Blobs, queues and tables: what the Durable Task hub needs (AzureWebJobsStorage).</summary>
    public string StorageConnectionString { get; }

    public static async Task<AzuriteProcess> StartAsync(CancellationToken cancellationToken)
    {
        string executable = FindAzurite();
        // Free ports are picked before Azurite binds them; if another process grabs one in between, try again.
        for (int attempt = 1; ; attempt++)
        {
            int[] ports = Loopback.FreePorts(3);
            string[] arguments =
            [
                "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--inMemoryPersistence",
                "--blobHost", "127.0.0.1", "--blobPort", Text(ports[0]),
                "--queueHost", "127.0.0.1", "--queuePort", Text(ports[1]),
                "--tableHost", "127.0.0.1", "--tablePort", Text(ports[2]),
            ];
            var process = ChildProcess.Start(executable, arguments);
            bool listening;
            try
            {
                listening = await WaitUntilListeningAsync(process, ports[0], cancellationToken);
            }
            catch
            {
                process.Dispose();
                throw;
            }

            if (listening)
            {
                return new AzuriteProcess(process, ports);
            }

            string output = process.Output;
            process.Dispose();
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"Azurite did not start on port {ports[0]}:\n{output}");
            }
        }
    }

    public int ProcessId => _process.Id;

    public void Dispose() => _process.Dispose();

    /// <summary>AZURITE_PATH, node_modules in this checkout or the main git worktree it belongs to, or PATH.</summary>
    private static string FindAzurite()
    {
        var relative = Path.Combine("node_modules", ".bin", "azurite");
        if (Environment.GetEnvironmentVariable("AZURITE_PATH") is { Length: > 0 } configured)
        {
            return configured;
        }

        foreach (var checkout in Ancestors(AppContext.BaseDirectory).Where(d => File.Exists(Path.Combine(d, "Serverless.sln"))))
        {
            foreach (var root in new[] { checkout, MainWorktree(checkout) })
            {
                if (root is not null && File.Exists(Path.Combine(root, relative)))
                {
                    return Path.Combine(root, relative);
                }
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "azurite"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("azurite not found: run 'npm ci' at the repository root, or set AZURITE_PATH.");
    }

    private static async Task<bool> WaitUntilListeningAsync(ChildProcess process, int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await Loopback.AcceptsConnectionsAsync(port, cancellationToken))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50, cancellationToken);
        }

        return !process.HasExited;
    }

    private static IEnumerable<string> Ancestors(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            yield return directory.FullName;
        }
    }

    // A linked git worktree has a .git file naming the main repository's git directory; worktrees share its node_modules.
    private static string? MainWorktree(string checkout)
    {
        var dotGit = Path.Combine(checkout, ".git");
        if (!File.Exists(dotGit) || File.ReadLines(dotGit).FirstOrDefault() is not { } line || !line.StartsWith("gitdir:", StringComparison.Ordinal))
        {
            return null;
        }

        var gitDirectory = Path.GetFullPath(line["gitdir:".Length..].Trim(), checkout);
        var commonDirFile = Path.Combine(gitDirectory, "commondir");
        var commonDirectory = File.Exists(commonDirFile) ? Path.GetFullPath(File.ReadAllText(commonDirFile).Trim(), gitDirectory) : gitDirectory;
        return Path.GetDirectoryName(commonDirectory.TrimEnd(Path.DirectorySeparatorChar));
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
