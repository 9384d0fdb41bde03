using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Serverless.Core.Files;

internal sealed class StoredFileConfiguration : IEntityTypeConfiguration<StoredFile>
{
    public void Configure(EntityTypeBuilder<StoredFile> builder)
    {
        builder.ToTable("Files");
        builder.HasKey(f => f.Id);
        builder.HasIndex(f => new { f.CustomerId, f.CreatedAt });
        builder.HasIndex(f => f.ExpiresAt);
        builder.Property(f => f.Id).HasMaxLength(40);
        builder.Property(f => f.CustomerId).HasMaxLength(64);
        builder.Property(f => f.Filename).HasMaxLength(512);
        builder.Property(f => f.Purpose).HasMaxLength(32);
        builder.Property(f => f.BlobName).HasMaxLength(256);
    }
}
