using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Serverless.Core.Keys;

internal sealed class CustomerConfiguration : IEntityTypeConfiguration<Customer>
{
    public void Configure(EntityTypeBuilder<Customer> builder)
    {
        builder.ToTable("Customers");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).HasMaxLength(CustomerIds.MaxLength);
        builder.Property(c => c.Name).HasMaxLength(200);
        builder.Property(c => c.StripeCustomerId).HasMaxLength(64);
        builder.Property(c => c.SubscriptionStatus).HasMaxLength(32);
        builder.Property(c => c.SubscriptionId).HasMaxLength(64);
        builder.HasIndex(c => c.StripeCustomerId).IsUnique();
    }
}
