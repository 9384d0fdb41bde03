using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Serverless.Core.Keys;

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("ApiKeys");
        builder.HasKey(k => k.KeyId);
        builder.Property(k => k.KeyId).HasMaxLength(ApiKeyFormat.KeyIdLength);
        builder.Property(k => k.CustomerId).HasMaxLength(CustomerIds.MaxLength);
        builder.Property(k => k.Name).HasMaxLength(ApiKeyService.MaxNameLength);
        builder.Property(k => k.Hash).HasMaxLength(ApiKeyHasher.HashLength);
        builder.Property(k => k.Prefix).HasMaxLength(ApiKeyFormat.MaxPrefixLength);
        builder.Property(k => k.LastFour).HasMaxLength(4);
        builder.Property(k => k.ModelScope).HasMaxLength(4000);
        builder.Property(k => k.Permissions).HasMaxLength(200);

        builder.HasOne(k => k.Customer)
            .WithMany()
            .HasForeignKey(k => k.CustomerId)
            .OnDelete(DeleteBehavior.Restrict);
    }
}
