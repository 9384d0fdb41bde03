using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Serverless.Core.Metering;

internal sealed class UsageRecordConfiguration : IEntityTypeConfiguration<UsageRecord>
{
    public void Configure(EntityTypeBuilder<UsageRecord> builder)
    {
        builder.ToTable("UsageRecords");
        builder.HasKey(r => r.Id);
        builder.HasIndex(r => r.RequestId).IsUnique();

        // Every report reads a customer's records by time (usage API, dashboard, exporter, reconciler). No query
        // looks records up by key or by batch: each index here costs every settlement a B-tree insert and its
        // share of the commit's dirty pages, so there are no others.
        builder.HasIndex(r => new { r.CustomerId, r.EndedAt });
        builder.Property(r => r.RequestId).HasMaxLength(64);
        builder.Property(r => r.KeyId).HasMaxLength(32);
        builder.Property(r => r.CustomerId).HasMaxLength(64);
        builder.Property(r => r.Model).HasMaxLength(128);
        builder.Property(r => r.Outcome).HasMaxLength(32);
        builder.Property(r => r.InstanceId).HasMaxLength(128);
        builder.Property(r => r.BatchId).HasMaxLength(64);
        builder.Property(r => r.CorrectsRequestId).HasMaxLength(64);
    }
}

internal sealed class ReservationConfiguration : IEntityTypeConfiguration<Reservation>
{
    public void Configure(EntityTypeBuilder<Reservation> builder)
    {
        builder.ToTable("Reservations");
        // No index on InstanceId: the sweeper's query (InstanceId other than ours) scans the few open reservations
        // anyway, and every admission and settlement would pay for one.
        builder.HasKey(r => r.RequestId);
        builder.Property(r => r.RequestId).HasMaxLength(64);
        builder.Property(r => r.KeyId).HasMaxLength(32);
        builder.Property(r => r.CustomerId).HasMaxLength(64);
        builder.Property(r => r.Model).HasMaxLength(128);
        builder.Property(r => r.InstanceId).HasMaxLength(128);
        builder.Property(r => r.BatchId).HasMaxLength(64);
    }
}

internal sealed class PriceConfiguration : IEntityTypeConfiguration<Price>
{
    public void Configure(EntityTypeBuilder<Price> builder)
    {
        builder.ToTable("Prices");
        builder.HasKey(p => p.Id);
        builder.HasIndex(p => new { p.Model, p.EffectiveFrom });
        builder.Property(p => p.Model).HasMaxLength(128);
    }
}

internal sealed class LimitPolicyConfiguration : IEntityTypeConfiguration<LimitPolicy>
{
    public void Configure(EntityTypeBuilder<LimitPolicy> builder)
    {
        builder.ToTable("LimitPolicies");
        builder.HasKey(p => new { p.Scope, p.ScopeId });
        builder.Property(p => p.Scope).HasMaxLength(16);
        builder.Property(p => p.ScopeId).HasMaxLength(64);
    }
}

internal sealed class BudgetUsageConfiguration : IEntityTypeConfiguration<BudgetUsage>
{
    public void Configure(EntityTypeBuilder<BudgetUsage> builder)
    {
        builder.ToTable("BudgetUsage");
        builder.HasKey(b => new { b.Scope, b.ScopeId, b.PeriodStart });
        builder.Property(b => b.Scope).HasMaxLength(16);
        builder.Property(b => b.ScopeId).HasMaxLength(64);
    }
}

internal sealed class RateWindowConfiguration : IEntityTypeConfiguration<RateWindow>
{
    public void Configure(EntityTypeBuilder<RateWindow> builder)
    {
        builder.ToTable("RateWindows");
        builder.HasKey(w => new { w.Scope, w.ScopeId, w.WindowStart });
        builder.Property(w => w.Scope).HasMaxLength(16);
        builder.Property(w => w.ScopeId).HasMaxLength(64);
    }
}

internal sealed class LedgerInstanceConfiguration : IEntityTypeConfiguration<LedgerInstance>
{
    public void Configure(EntityTypeBuilder<LedgerInstance> builder)
    {
        builder.ToTable("Instances");
        builder.HasKey(i => i.InstanceId);
        builder.Property(i => i.InstanceId).HasMaxLength(128);
        builder.Property(i => i.Machine).HasMaxLength(128);
        builder.Property(i => i.ModelsLoaded).HasMaxLength(2048);
    }
}

internal sealed class IdempotencyEntryConfiguration : IEntityTypeConfiguration<IdempotencyEntry>
{
    public void Configure(EntityTypeBuilder<IdempotencyEntry> builder)
    {
        builder.ToTable("IdempotencyEntries");
        builder.HasKey(e => new { e.CustomerId, e.Key });
        builder.Property(e => e.CustomerId).HasMaxLength(64);
        builder.Property(e => e.Key).HasMaxLength(255);
        builder.Property(e => e.RequestHash).HasMaxLength(96);
        builder.Property(e => e.RequestId).HasMaxLength(64);
        builder.HasIndex(e => e.CreatedAt);
    }
}
