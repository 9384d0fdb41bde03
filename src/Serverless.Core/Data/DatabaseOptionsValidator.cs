using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Serverless.Core.Data;

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (!options.UsesSqlite && !options.UsesPostgres)
        {
            errors.Add($"Database:Provider '{options.Provider}' is not supported; use " +
                $"'{DatabaseOptions.SqliteProvider}' or '{DatabaseOptions.PostgresProvider}'.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add("Database:ConnectionString is required.");
        }
        else if (options.UsesPostgres)
        {
            ValidatePostgres(options.ConnectionString, errors);
        }
        else if (options.UsesSqlite)
        {
            try
            {
                _ = new SqliteConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"Database:ConnectionString is not a valid SQLite connection string: {ex.Message}");
            }
        }

        if (options.BusyTimeout < TimeSpan.Zero || options.BusyTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add("Database:BusyTimeout must be between 00:00:00 and 00:05:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidatePostgres(string connectionString, List<string> errors)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
        {
            // Never echo the string itself: it usually carries a password.
            errors.Add($"Database:ConnectionString is not a valid PostgreSQL connection string: {ex.Message}");
            return;
        }

        // A SQLite string left in place after switching the provider parses, but names no server.
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            errors.Add("Database:ConnectionString for PostgreSQL must name a Host.");
        }
    }
}
