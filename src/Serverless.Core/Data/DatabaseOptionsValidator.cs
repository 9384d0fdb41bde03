using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Data;

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();

        if (!string.Equals(options.Provider, DatabaseOptions.SqliteProvider, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"Database:Provider '{options.Provider}' is not supported; use '{DatabaseOptions.SqliteProvider}'.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add("Database:ConnectionString is required.");
        }
        else
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
}
