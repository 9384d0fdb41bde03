using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;

namespace Serverless.Core.Keys;

/// <summary>The Keys feature's tables as named sets on the service's one context.</summary>
public static class KeysDbContextExtensions
{
    extension(ServerlessDbContext db)
    {
        public DbSet<Customer> Customers => db.Set<Customer>();

        public DbSet<ApiKey> ApiKeys => db.Set<ApiKey>();
    }
}
