using Microsoft.Data.Sqlite;

namespace Serverless.Core.Data;

/// <summary>
/// Makes a SQLite connection string's relative Data Source absolute against one documented root (Database:Root, or
/// the checkout or content root), so the file does not move with the process's working directory.
/// </summary>
internal static class SqliteDataSource
{
    /// <summary>The file that marks a checkout's root.</summary>
    public const string CheckoutMarker = "Serverless.sln";

    /// <summary>The folder relative paths resolve against: <paramref name="root"/> when set, else the checkout or content root.</summary>
    public static string RootFor(string? root, string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(root))
        {
            return Path.GetFullPath(root, contentRoot);
        }

        for (var directory = new DirectoryInfo(Path.GetFullPath(contentRoot)); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, CheckoutMarker)))
            {
                return directory.FullName;
            }
        }

        return Path.GetFullPath(contentRoot);
    }

    /// <summary>
    /// <paramref name="connectionString"/> with a relative file Data Source made absolute against <paramref name="root"/>;
    /// in-memory databases, absolute paths and strings that do not parse (the validator reports those) are returned as they are.
    /// </summary>
    public static string Resolve(string connectionString, string root)
    {
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            return connectionString;
        }

        var dataSource = builder.DataSource;
        if (builder.Mode == SqliteOpenMode.Memory
            || string.IsNullOrEmpty(dataSource)
            || string.Equals(dataSource, ":memory:", StringComparison.Ordinal)
            || dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            || Path.IsPathRooted(dataSource))
        {
            return connectionString;
        }

        builder.DataSource = Path.GetFullPath(dataSource, root);
        return builder.ToString();
    }
}
