using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Serverless.Core.Jobs;

internal sealed class BatchJobConfiguration : IEntityTypeConfiguration<BatchJob>
{
    public void Configure(EntityTypeBuilder<BatchJob> builder)
    {
        builder.ToTable("Batches");
        builder.HasKey(b => b.Id);
        builder.HasIndex(b => new { b.CustomerId, b.CreatedAt });
        builder.Property(b => b.Id).HasMaxLength(40);
        builder.Property(b => b.CustomerId).HasMaxLength(64);
        builder.Property(b => b.KeyId).HasMaxLength(32);
        builder.Property(b => b.Endpoint).HasMaxLength(64);
        builder.Property(b => b.InputFileId).HasMaxLength(40);
        builder.Property(b => b.CompletionWindow).HasMaxLength(16);
        builder.Property(b => b.Status).HasMaxLength(16);
        builder.Property(b => b.OutputFileId).HasMaxLength(40);
        builder.Property(b => b.ErrorFileId).HasMaxLength(40);
    }
}

internal sealed class BatchChunkProgressConfiguration : IEntityTypeConfiguration<BatchChunkProgress>
{
    public void Configure(EntityTypeBuilder<BatchChunkProgress> builder)
    {
        builder.ToTable("BatchChunks");
        builder.HasKey(c => new { c.BatchId, c.Chunk });
        builder.Property(c => c.BatchId).HasMaxLength(40);
    }
}

internal sealed class BatchLineResultConfiguration : IEntityTypeConfiguration<BatchLineResult>
{
    public void Configure(EntityTypeBuilder<BatchLineResult> builder)
    {
        builder.ToTable("BatchLineResults");
        builder.HasKey(r => r.RequestId);
        builder.HasIndex(r => r.BatchId);
        builder.Property(r => r.RequestId).HasMaxLength(64);
        builder.Property(r => r.BatchId).HasMaxLength(40);
    }
}
