using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Data;

public static class DatabaseServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DatabaseOptions"/> (section "Database", validated at start) and a singleton
    /// <see cref="IDbContextFactory{TContext}"/> for <see cref="ServerlessDbContext"/>. Any
    /// <see cref="IInterceptor"/> registered in the container is attached to every context (tests use this
    /// to count commands; telemetry could too).
    /// </summary>
    public static IServiceCollection AddDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<DatabaseOptions>()
            .Bind(configuration.GetSection(DatabaseOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();

        services.AddDbContextFactory<ServerlessDbContext>((provider, builder) =>
        {
            Configure(builder, provider.GetRequiredService<IOptions<DatabaseOptions>>().Value);
            builder.AddInterceptors(provider.GetServices<IInterceptor>());
        });

        return services;
    }

    /// <summary>
    /// Brings the database to the latest migration. Call once at start, before serving requests; it also
    /// creates the folder of a SQLite file and switches the file to WAL so readers never wait on the writer.
    /// </summary>
    public static async Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServerlessDbContext).FullName!);
        var dataSource = EnsureSqliteFolder(options.ConnectionString);

        var factory = services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>();
        await using var db = await factory.CreateDbContextAsync(cancellationToken);

        // journal_mode=WAL is stored in the file, so setting it once here covers every later connection.
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken);

        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count == 0)
        {
            logger.DatabaseUpToDate(dataSource);
            return;
        }

        logger.ApplyingMigrations(pending.Count, dataSource, string.Join(", ", pending));
        await db.Database.MigrateAsync(cancellationToken);
    }

    internal static void Configure(DbContextOptionsBuilder builder, DatabaseOptions options)
    {
        builder.UseSqlite(options.ConnectionString, sqlite =>
            sqlite.MigrationsAssembly(typeof(ServerlessDbContext).Assembly.GetName().Name));
        builder.AddInterceptors(new SqliteBusyTimeoutInterceptor(options.BusyTimeout));
    }

    // SQLite creates the file but not its folder; the default ".local/serverless.db" must work on a fresh clone.
    private static string EnsureSqliteFolder(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var dataSource = builder.DataSource;
        var inMemory = builder.Mode == SqliteOpenMode.Memory
            || string.IsNullOrEmpty(dataSource)
            || string.Equals(dataSource, ":memory:", StringComparison.Ordinal);
        if (!inMemory)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(dataSource));
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }
        }

        return dataSource;
    }
}
