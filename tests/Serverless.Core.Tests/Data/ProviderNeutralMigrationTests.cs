using System.Text.RegularExpressions;

namespace Serverless.Core.Tests.Data;

/// <summary>
/// dotnet-ef generates migrations against SQLite and writes SQLite column types and value-generation
/// annotations into them; left as generated, PostgreSQL would get 32-bit "INTEGER" columns, no "BLOB" type
/// and key columns without identity. Data/Migrations/add-migration.sh fixes both; these tests notice when
/// it was skipped. Data/Migrations/README.md has the rules.
/// </summary>
public sealed partial class ProviderNeutralMigrationTests
{
    private const string Fix = "run src/Serverless.Core/Data/Migrations/add-migration.sh --neutralize (see the README there)";

    [Fact]
    public void Migrations_name_no_provider_specific_column_types()
    {
        var offences = new List<string>();
        foreach (var file in MigrationFiles())
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (ProviderType().IsMatch(lines[i]))
                {
                    offences.Add($"{Path.GetFileName(file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(offences.Count == 0, $"Provider-specific column types in migrations; {Fix}:\n{string.Join('\n', offences)}");
    }

    [Fact]
    public void Every_sqlite_autoincrement_column_is_an_identity_column_on_postgres()
    {
        var offences = new List<string>();
        foreach (var file in MigrationFiles())
        {
            var text = File.ReadAllText(file);
            foreach (var kind in new[] { "Annotation", "OldAnnotation" })
            {
                var sqlite = Regex.Matches(text, $@"\.{kind}\(""Sqlite:Autoincrement"", true\)").Count;
                var postgres = Regex.Matches(text, $@"\.{kind}\(""Npgsql:ValueGenerationStrategy"", NpgsqlValueGenerationStrategy\.IdentityByDefaultColumn\)").Count;
                if (sqlite != postgres)
                {
                    offences.Add($"{Path.GetFileName(file)}: {sqlite} Sqlite:Autoincrement {kind}(s) but {postgres} Npgsql identity twin(s)");
                }
            }
        }

        Assert.True(offences.Count == 0, $"Identity columns without their PostgreSQL annotation; {Fix}:\n{string.Join('\n', offences)}");
    }

    private static List<string> MigrationFiles()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var files = Directory.EnumerateFiles(Path.Combine(dir.FullName, "src", "Serverless.Core", "Data", "Migrations"), "*.cs").ToList();
        Assert.NotEmpty(files);
        return files;
    }

    // type: "TEXT" / oldType: "INTEGER" in migrations; .HasColumnType("BLOB") in designer files and the snapshot.
    [GeneratedRegex("""\b(?:type|oldType)\s*:\s*"|\.HasColumnType\(""")]
    private static partial Regex ProviderType();
}
