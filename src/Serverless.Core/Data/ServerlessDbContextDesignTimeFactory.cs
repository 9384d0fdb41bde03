using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Serverless.Core.Data;

/// <summary>
/// Lets <c>dotnet ef migrations add</c> build the model without starting a host. Generating a migration
/// never opens the database, so the connection string only has to name the provider.
/// </summary>
internal sealed class ServerlessDbContextDesignTimeFactory : IDesignTimeDbContextFactory<ServerlessDbContext>
{
    public ServerlessDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<ServerlessDbContext>();
        DatabaseServiceCollectionExtensions.Configure(builder, new DatabaseOptions());
        return new ServerlessDbContext(builder.Options);
    }
}
