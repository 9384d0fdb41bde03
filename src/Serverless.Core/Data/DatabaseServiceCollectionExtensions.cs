using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Serverless.Core.Data;

public static class DatabaseServiceCollectionExtensions
{
    // Any fixed 64-bit key; it only has to differ from other advisory locks the application takes.
    private const string LockMigrations = "SELECT pg_advisory_lock(5366097611473715561)";
    private const string UnlockMigrations = "SELECT pg_advisory_unlock(5366097611473715561)";

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
            .PostConfigure<IServiceProvider>((options, provider) =>
            {
                if (options.UsesSqlite)
                {
                    var contentRoot = provider.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
                    options.ConnectionString = SqliteDataSource.Resolve(options.ConnectionString, SqliteDataSource.RootFor(options.Root, contentRoot));
                }
                else if (options.UsesPostgres && options.MaxPoolSize is int poolSize)
                {
                    options.ConnectionString = WithMaxPoolSize(options.ConnectionString, poolSize);
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // EF Core logs every command at Information; under the Functions host (where host.json lets a function's
        // Information through) that is a line per query. Commands that fail are still logged, at Warning and above.
        services.AddLogging(logging => logging.AddFilter(DbLoggerCategory.Database.Command.Name, LogLevel.Warning));
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();

        services.AddDbContextFactory<ServerlessDbContext>((provider, builder) =>
        {
            Configure(builder, provider.GetRequiredService<IOptions<DatabaseOptions>>().Value);
            builder.AddInterceptors(provider.GetServices<IInterceptor>());
        });

        return services;
    }

    /// <summary>
    /// Brings the database to the latest migration. Call once at start, before serving requests. For SQLite
    /// it also creates the folder of the file and switches the file to WAL so readers never wait on the
    /// writer. For PostgreSQL it creates the database if it is missing, and instances starting together
    /// take turns, so each migration is applied once.
    /// </summary>
    public static async Task MigrateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServerlessDbContext).FullName!);
        var factory = services.GetRequiredService<IDbContextFactory<ServerlessDbContext>>();

        if (options.UsesPostgres)
        {
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            await MigratePostgresAsync(db, logger, DescribePostgres(options.ConnectionString), cancellationToken);
        }
        else
        {
            var dataSource = EnsureSqliteFolder(options.ConnectionString);
            await using var db = await factory.CreateDbContextAsync(cancellationToken);

            // journal_mode=WAL is stored in the file, so setting it once here covers every later connection.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken);
            await ApplyPendingMigrationsAsync(db, logger, dataSource, cancellationToken);
        }
    }

    internal static void Configure(DbContextOptionsBuilder builder, DatabaseOptions options)
    {
        var migrationsAssembly = typeof(ServerlessDbContext).Assembly.GetName().Name;
        if (options.UsesPostgres)
        {
            builder.UseNpgsql(options.ConnectionString, npgsql => npgsql.MigrationsAssembly(migrationsAssembly));
        }
        else
        {
            // Microsoft.Data.Sqlite retries SQLITE_BUSY until the command timeout (30 s by default), which would
            // outlast BusyTimeout; aligning the two makes a locked database fail within BusyTimeout.
            var connectionString = new SqliteConnectionStringBuilder(options.ConnectionString)
            {
                DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
            }.ToString();
            builder.UseSqlite(connectionString, sqlite => sqlite.MigrationsAssembly(migrationsAssembly));
            builder.AddInterceptors(new SqliteBusyTimeoutInterceptor(options.BusyTimeout));
        }
    }

    private static async Task ApplyPendingMigrationsAsync(
        ServerlessDbContext db, ILogger logger, string dataSource, CancellationToken cancellationToken)
    {
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count == 0)
        {
            logger.DatabaseUpToDate(dataSource);
            return;
        }

        logger.ApplyingMigrations(pending.Count, dataSource, string.Join(", ", pending));
        await db.Database.MigrateAsync(cancellationToken);
    }

    // EF Core's own PostgreSQL migration lock (LOCK TABLE on the history table) lasts one migration's
    // transaction, but EF reads the history only once: an instance that gets the lock between another's two
    // migrations applies the second again and fails ("relation already exists"). A session-level advisory
    // lock held around the whole run makes instances take turns; the later one then finds nothing to do.
    private static async Task MigratePostgresAsync(
        ServerlessDbContext db, ILogger logger, string dataSource, CancellationToken cancellationToken)
    {
        var creator = db.GetService<IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken))
        {
            try
            {
                await creator.CreateAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                // Another instance created it first.
            }
        }

        // The lock belongs to the session, so keep one connection open from lock to unlock.
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlRawAsync(LockMigrations, cancellationToken);
            try
            {
                await ApplyPendingMigrationsAsync(db, logger, dataSource, cancellationToken);
            }
            finally
            {
                // Closing alone would not do: a pooled connection keeps its session, and the lock, until reused.
                try
                {
                    await db.Database.ExecuteSqlRawAsync(UnlockMigrations, CancellationToken.None);
                }
                catch (DbException)
                {
                    // The connection broke, and its session ended: the lock went with it. Keep the first error.
                }
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    // Every pool built from the options (EF's and the ledger writer's) gets the cap. A string Npgsql cannot read is left
    // as it is, for the validator to report.
    private static string WithMaxPoolSize(string connectionString, int poolSize)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = poolSize }.ConnectionString;
        }
        catch (ArgumentException)
        {
            return connectionString;
        }
    }

    // For logs: where the database is, without the password.
    private static string DescribePostgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return string.Create(CultureInfo.InvariantCulture, $"postgres://{builder.Host}:{builder.Port}/{builder.Database}");
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
