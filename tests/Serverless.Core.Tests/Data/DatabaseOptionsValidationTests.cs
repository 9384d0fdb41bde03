using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;

namespace Serverless.Core.Tests.Data;

public sealed class DatabaseOptionsValidationTests
{
    private const string PostgresConnection = "Host=db.internal;Port=5432;Database=serverless;Username=app;Password=hunter2-secret";

    [Theory]
    [InlineData("Sqlite", "Data Source=x.db")]
    [InlineData("sqlite", "Data Source=x.db")]
    [InlineData("Postgres", PostgresConnection)]
    [InlineData("POSTGRES", PostgresConnection)]
    [InlineData("postgres", PostgresConnection)]
    public void Provider_names_are_case_insensitive(string provider, string connectionString)
    {
        var options = Validate(provider, connectionString);

        Assert.Equal(provider.Equals("postgres", StringComparison.OrdinalIgnoreCase), options.UsesPostgres);
        Assert.Equal(provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase), options.UsesSqlite);
    }

    [Theory]
    [InlineData("SqlServer")]
    [InlineData("PostgreSQL")]
    [InlineData("")]
    public void Unknown_provider_is_rejected_with_the_supported_names(string provider)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Validate(provider, "Data Source=x.db"));

        Assert.Contains("Database:Provider", error.Message, StringComparison.Ordinal);
        Assert.Contains("'Sqlite' or 'Postgres'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Data Source=.local/serverless.db")]
    [InlineData("Port=5432;Database=serverless")]
    public void Postgres_needs_a_connection_string_that_names_a_server(string connectionString)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Validate("Postgres", connectionString));

        Assert.Contains("Database:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_postgres_connection_string_is_reported_without_its_password()
    {
        var error = Assert.Throws<OptionsValidationException>(
            () => Validate("Postgres", "Host=db;Password=hunter2-secret;Port=not-a-number"));

        Assert.Contains("Database:ConnectionString", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_pool_size_caps_every_postgres_pool_the_instance_builds_from_the_options()
    {
        var options = Validate("Postgres", PostgresConnection + ";Maximum Pool Size=100", maxPoolSize: "3");

        Assert.Equal(3, new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString).MaxPoolSize);
        Assert.Equal("db.internal", new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString).Host);
    }

    [Fact]
    public void Without_max_pool_size_the_connection_string_decides_and_sqlite_is_never_touched()
    {
        Assert.Equal(PostgresConnection, Validate("Postgres", PostgresConnection, maxPoolSize: "").ConnectionString);
        Assert.DoesNotContain("Pool", Validate("Sqlite", "Data Source=/tmp/x.db", maxPoolSize: "3").ConnectionString, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("5000")]
    public void A_max_pool_size_out_of_range_stops_the_host_naming_it(string value)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Validate("Postgres", PostgresConnection, maxPoolSize: value));

        Assert.Contains("MaxPoolSize", error.Message, StringComparison.Ordinal);
    }

    private static DatabaseOptions Validate(string provider, string connectionString, string? maxPoolSize = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider,
            ["Database:ConnectionString"] = connectionString,
            ["Database:MaxPoolSize"] = maxPoolSize,
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddDatabase(configuration).BuildServiceProvider();

        services.GetRequiredService<IStartupValidator>().Validate();
        return services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
    }
}
