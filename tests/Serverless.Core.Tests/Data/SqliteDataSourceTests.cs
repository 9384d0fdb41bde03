using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;

namespace Serverless.Core.Tests.Data;

/// <summary>
/// A relative SQLite path means one file wherever the process starts: the checkout's (so `./run.sh` and `func start`,
/// whose working directory is the build output, share keys), Database:Root when set, or the content root of a
/// deployed app.
/// </summary>
public sealed class SqliteDataSourceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("serverless-root-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_relative_path_resolves_against_the_checkout_root_from_a_build_output_folder()
    {
        File.WriteAllText(Path.Combine(_folder, SqliteDataSource.CheckoutMarker), string.Empty);
        var buildOutput = Directory.CreateDirectory(Path.Combine(_folder, "src", "Serverless.Functions", "bin", "output")).FullName;

        var options = Resolve(new() { ["Database:ConnectionString"] = "Data Source=.local/serverless.db" }, buildOutput);

        Assert.Equal(Path.Combine(_folder, ".local", "serverless.db"), new SqliteConnectionStringBuilder(options.ConnectionString).DataSource);
    }

    [Fact]
    public void A_relative_path_resolves_against_Database_Root_when_it_is_set()
    {
        File.WriteAllText(Path.Combine(_folder, SqliteDataSource.CheckoutMarker), string.Empty);
        var root = Path.Combine(_folder, "elsewhere");

        var options = Resolve(new() { ["Database:ConnectionString"] = "Data Source=data/ledger.db;Cache=Shared", ["Database:Root"] = root }, _folder);

        var builder = new SqliteConnectionStringBuilder(options.ConnectionString);
        Assert.Equal(Path.Combine(root, "data", "ledger.db"), builder.DataSource);
        Assert.Equal(SqliteCacheMode.Shared, builder.Cache);
    }

    [Fact]
    public void Outside_a_checkout_a_relative_path_resolves_against_the_content_root()
    {
        var contentRoot = Directory.CreateDirectory(Path.Combine(_folder, "wwwroot")).FullName;

        var options = Resolve(new() { ["Database:ConnectionString"] = "Data Source=serverless.db" }, contentRoot);

        Assert.Equal(Path.Combine(contentRoot, "serverless.db"), new SqliteConnectionStringBuilder(options.ConnectionString).DataSource);
    }

    [Theory]
    [InlineData("Data Source=/var/data/serverless.db")]
    [InlineData("Data Source=:memory:")]
    [InlineData("Data Source=ledger;Mode=Memory;Cache=Shared")]
    public void Absolute_and_in_memory_data_sources_are_left_as_they_are(string connectionString)
    {
        Assert.Equal(connectionString, Resolve(new() { ["Database:ConnectionString"] = connectionString }, _folder).ConnectionString);
    }

    [Fact]
    public void A_PostgreSQL_connection_string_is_left_as_it_is()
    {
        const string connectionString = "Host=127.0.0.1;Database=serverless;Username=app";

        var options = Resolve(new() { ["Database:Provider"] = "Postgres", ["Database:ConnectionString"] = connectionString }, _folder);

        Assert.Equal(connectionString, options.ConnectionString);
    }

    [Fact]
    public async Task EF_Core_commands_are_not_logged_at_information()
    {
        var logs = new RecordingLoggerProvider();
        var settings = new Dictionary<string, string?> { ["Database:ConnectionString"] = $"Data Source={Path.Combine(_folder, "serverless.db")}" };
        await using var provider = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Information).AddProvider(logs))
            .AddDatabase(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

        await provider.MigrateDatabaseAsync();
        await using (var db = await provider.GetRequiredService<IDbContextFactory<ServerlessDbContext>>().CreateDbContextAsync())
        {
            _ = await db.Database.ExecuteSqlRawAsync("SELECT 1");
        }

        SqliteConnection.ClearAllPools();
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information); // the migration's own lines still come through
        Assert.DoesNotContain(logs.Entries, e => e.Category == DbLoggerCategory.Database.Command.Name && e.Level < LogLevel.Warning);
    }

    private static DatabaseOptions Resolve(Dictionary<string, string?> settings, string contentRoot)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection()
            .AddSingleton<IHostEnvironment>(new TestEnvironment(contentRoot))
            .AddLogging()
            .AddDatabase(configuration)
            .BuildServiceProvider();
        return provider.GetRequiredService<IOptions<DatabaseOptions>>().Value;
    }

    private sealed class TestEnvironment(string contentRoot) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = Environments.Production;

        public string ApplicationName { get; set; } = "tests";

        public string ContentRootPath { get; set; } = contentRoot;

        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string Category, LogLevel Level)> _entries = new();

        public IReadOnlyList<(string Category, LogLevel Level)> Entries => [.. _entries];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<(string, LogLevel)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((category, logLevel));
        }
    }
}
