using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Serverless.Core.Billing;

internal sealed class BillingMeterConfiguration : IEntityTypeConfiguration<BillingMeter>
{
    public void Configure(EntityTypeBuilder<BillingMeter> builder)
    {
        builder.ToTable("BillingMeters");
        builder.HasKey(m => m.Kind);
        builder.Property(m => m.Kind).HasMaxLength(32);
        builder.Property(m => m.EventName).HasMaxLength(100);
        builder.Property(m => m.StripeMeterId).HasMaxLength(64);
    }
}

internal sealed class ExportBucketConfiguration : IEntityTypeConfiguration<ExportBucket>
{
    public void Configure(EntityTypeBuilder<ExportBucket> builder)
    {
        builder.ToTable("ExportBuckets");
        builder.HasKey(b => b.Id);
        builder.HasIndex(b => b.Identifier).IsUnique();
        builder.HasIndex(b => new { b.CustomerId, b.Meter, b.BucketStart, b.Sequence }).IsUnique();
        builder.HasIndex(b => new { b.Status, b.NextAttemptAt });
        builder.Property(b => b.CustomerId).HasMaxLength(64);
        builder.Property(b => b.StripeCustomerId).HasMaxLength(64);
        builder.Property(b => b.Meter).HasMaxLength(32);
        builder.Property(b => b.EventName).HasMaxLength(100);
        builder.Property(b => b.Identifier).HasMaxLength(100);
        builder.Property(b => b.Status).HasMaxLength(16);
        builder.Property(b => b.LastError).HasMaxLength(2000);
        builder.Property(b => b.Transport).HasMaxLength(8);
    }
}

internal sealed class ExportQueueItemConfiguration : IEntityTypeConfiguration<ExportQueueItem>
{
    public void Configure(EntityTypeBuilder<ExportQueueItem> builder)
    {
        builder.ToTable("ExportQueue");
        builder.HasKey(q => q.RecordId);
        builder.Property(q => q.RecordId).ValueGeneratedNever();
        builder.Property(q => q.CustomerId).HasMaxLength(64);
        builder.HasIndex(q => q.CustomerId);
    }
}

internal sealed class WebhookEventConfiguration : IEntityTypeConfiguration<WebhookEvent>
{
    public void Configure(EntityTypeBuilder<WebhookEvent> builder)
    {
        builder.ToTable("WebhookEvents");
        builder.HasKey(e => e.EventId);
        builder.Property(e => e.EventId).HasMaxLength(128);
        builder.Property(e => e.Type).HasMaxLength(128);
    }
}

internal sealed class MeterErrorReportConfiguration : IEntityTypeConfiguration<MeterErrorReport>
{
    public void Configure(EntityTypeBuilder<MeterErrorReport> builder)
    {
        builder.ToTable("MeterErrorReports");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.EventId).HasMaxLength(128);
        builder.Property(r => r.MeterId).HasMaxLength(64);
        builder.Property(r => r.Summary).HasMaxLength(8000);
    }
}

internal sealed class BillingPeriodConfiguration : IEntityTypeConfiguration<BillingPeriod>
{
    public void Configure(EntityTypeBuilder<BillingPeriod> builder)
    {
        builder.ToTable("BillingPeriods");
        builder.HasKey(p => p.InvoiceId);
        builder.HasIndex(p => new { p.CustomerId, p.PeriodStart });
        builder.Property(p => p.InvoiceId).HasMaxLength(64);
        builder.Property(p => p.CustomerId).HasMaxLength(64);
        builder.Property(p => p.Status).HasMaxLength(32);
        builder.Property(p => p.Currency).HasMaxLength(8);
        builder.Property(p => p.HostedInvoiceUrl).HasMaxLength(1000);
    }
}

internal sealed class ReconciliationRunConfiguration : IEntityTypeConfiguration<ReconciliationRun>
{
    public void Configure(EntityTypeBuilder<ReconciliationRun> builder)
    {
        builder.ToTable("ReconciliationRuns");
        builder.HasKey(r => r.Id);
        builder.HasIndex(r => r.RanAt);
    }
}

internal sealed class ExportLeaseConfiguration : IEntityTypeConfiguration<ExportLease>
{
    public void Configure(EntityTypeBuilder<ExportLease> builder)
    {
        builder.ToTable("ExportLeases");
        builder.HasKey(l => l.Name);
        builder.Property(l => l.Name).HasMaxLength(64);
        builder.Property(l => l.Holder).HasMaxLength(128);
    }
}
