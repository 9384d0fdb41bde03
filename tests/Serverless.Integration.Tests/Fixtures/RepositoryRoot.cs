namespace Serverless.Integration.Tests.Fixtures;

/// <summary>Locates the checkout the tests run from, so tools and fixtures are found in any clone or worktree.</summary>
public static class RepositoryRoot
{
    private const string Marker = "Serverless.sln";

    private static readonly Lazy<string> Root = new(() =>
        FindUpwards(AppContext.BaseDirectory, Marker)
        ?? throw new InvalidOperationException($"No {Marker} above {AppContext.BaseDirectory}; are the tests running from a checkout?"));

    /// <summary>The folder holding Serverless.sln.</summary>
    public static string Path => Root.Value;

    /// <summary>The nearest folder at or above <paramref name="start"/> that contains <paramref name="relativePath"/>.</summary>
    public static string? FindUpwards(string start, string relativePath)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, relativePath);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    /// <summary>
    /// The main working tree when this checkout is a linked git worktree (its .git is a file naming the
    /// main repository's git directory), otherwise null. Worktrees share the main tree's node_modules.
    /// </summary>
    public static string? MainWorktree(string checkout)
    {
        var dotGit = System.IO.Path.Combine(checkout, ".git");
        if (!File.Exists(dotGit))
        {
            return null;
        }

        var line = File.ReadLines(dotGit).FirstOrDefault() ?? string.Empty;
        const string prefix = "gitdir:";
        if (!line.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var gitDirectory = System.IO.Path.GetFullPath(line[prefix.Length..].Trim(), checkout);
        var commonDirFile = System.IO.Path.Combine(gitDirectory, "commondir");
        var commonDirectory = File.Exists(commonDirFile)
            ? System.IO.Path.GetFullPath(File.ReadAllText(commonDirFile).Trim(), gitDirectory)
            : gitDirectory;
        return System.IO.Path.GetDirectoryName(commonDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar));
    }
}
