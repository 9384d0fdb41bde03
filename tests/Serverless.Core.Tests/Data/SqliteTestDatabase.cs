using System.Text;
using Microsoft.Data.Sqlite;
using Serverless.Core.Data;

namespace Serverless.Core.Tests.Data;

/// <summary>A SQLite file in its own temporary folder, removed with the folder afterwards.</summary>
internal sealed class SqliteTestDatabase : TestDatabase
{
    public SqliteTestDatabase()
    {
        Folder = Path.Combine(Path.GetTempPath(), "serverless-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, "serverless.db");
    }

    public override string Provider => DatabaseOptions.SqliteProvider;

    public string Folder { get; }

    public string FilePath { get; }

    public override string ConnectionString => $"Data Source={FilePath}";

    /// <summary>Everything SQLite has written so far: the main file plus the WAL and shared-memory files.</summary>
    public override Task<string> ReadStoredTextAsync()
    {
        var bytes = new List<byte>();
        foreach (var file in Directory.EnumerateFiles(Folder))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            bytes.AddRange(copy.ToArray());
        }

        return Task.FromResult(Encoding.ASCII.GetString([.. bytes]));
    }

    public override Task DeleteAsync()
    {
        using (var connection = new SqliteConnection(ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }

        return Task.CompletedTask;
    }
}
