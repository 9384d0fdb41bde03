using Microsoft.EntityFrameworkCore;

namespace Serverless.Core.Data;

/// <summary>
/// The one relational store of the service. Features add their entities through
/// <see cref="IEntityTypeConfiguration{TEntity}"/> classes next to their code; those are picked up from
/// this assembly, so a new feature needs no change here; a feature that wants named sets declares them as extension
/// properties next to its entities (e.g. <c>db.ApiKeys</c> in Keys), so this folder depends on none of them.
/// </summary>
public sealed class ServerlessDbContext(DbContextOptions<ServerlessDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        // PostgreSQL's own convention, stated here so the model carries it under SQLite too: migrations are
        // generated against SQLite, and without it their snapshot would lack it, so on PostgreSQL every
        // generated key would count as a pending model change and Migrate would refuse to run.
        modelBuilder.UseIdentityByDefaultColumns();
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ServerlessDbContext).Assembly);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UnixMillisecondsConverter>();
    }
}
