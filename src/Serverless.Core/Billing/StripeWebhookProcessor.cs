using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using static Serverless.Core.Billing.StripeWebhookEvent;

namespace Serverless.Core.Billing;

/// <summary>
/// Applies Stripe's webhook events to the ledger, each event id once: subscription changes (a canceled subscription
/// disables the customer's keys, reactivation enables them), invoices (billing period state) and meter error reports.
/// An event older than the state already applied changes nothing.
/// </summary>
public sealed partial class StripeWebhookProcessor(
    IDbContextFactory<ServerlessDbContext> databases,
    ApiKeyService keys,
    TimeProvider time,
    ILogger<StripeWebhookProcessor> logger)
{
    private const int MaxIdLength = 64;

    private static readonly HashSet<string> DisablingStatuses = new(StringComparer.Ordinal) { "canceled", "unpaid", "incomplete_expired", "paused" };

    /// <summary>
    /// Applies the event unless its id was processed before; false for such a duplicate. The event id row and the
    /// event's effects commit together: a crash in between makes Stripe's retry do it all again.
    /// </summary>
    public async Task<bool> ApplyOnceAsync(StripeWebhookEvent stripeEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stripeEvent);
        var (id, type, created, root) = stripeEvent;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (await db.Set<WebhookEvent>().AnyAsync(e => e.EventId == id, cancellationToken))
        {
            return false;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Add(new WebhookEvent { EventId = id, Type = type, ReceivedAt = time.GetUtcNow() });
        (string CustomerId, bool Disabled)? keyChange = null;
        var data = root.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty("object", out var o) ? o : default;
        if (type.StartsWith("customer.subscription.", StringComparison.Ordinal) && data.ValueKind == JsonValueKind.Object)
        {
            keyChange = await ApplySubscriptionAsync(db, type, created, data, cancellationToken);
        }
        else if (type.StartsWith("invoice.", StringComparison.Ordinal) && data.ValueKind == JsonValueKind.Object)
        {
            await ApplyInvoiceAsync(db, type, created, data, cancellationToken);
        }
        else if (type == "v1.billing.meter.error_report_triggered")
        {
            db.Add(new MeterErrorReport
            {
                EventId = id,
                MeterId = root.TryGetProperty("related_object", out var related) && related.ValueKind == JsonValueKind.Object ? Text(related, "id") : null,
                Summary = Truncate(root.GetRawText()),
                ReceivedAt = time.GetUtcNow(),
            });
            LogMeterError(logger, id);
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The same event delivered twice at once: the other delivery won the insert of its id.
            if (await AlreadyProcessedAsync(id, cancellationToken))
            {
                return false;
            }

            throw;
        }

        if (keyChange is { } change)
        {
            await keys.SetCustomerDisabledAsync(change.CustomerId, change.Disabled, cancellationToken);
        }

        LogProcessed(logger, type, id);
        return true;
    }

    private async Task<bool> AlreadyProcessedAsync(string id, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Set<WebhookEvent>().AnyAsync(e => e.EventId == id, cancellationToken);
    }

    private async Task<(string, bool)?> ApplySubscriptionAsync(ServerlessDbContext db, string type, DateTimeOffset? created, JsonElement subscription, CancellationToken cancellationToken)
    {
        string? stripeCustomer = Text(subscription, "customer");
        string status = Text(subscription, "status") ?? string.Empty;
        var customer = stripeCustomer is null ? null : await db.Customers.SingleOrDefaultAsync(x => x.StripeCustomerId == stripeCustomer, cancellationToken);
        if (customer is null)
        {
            LogUnknownCustomer(logger, type, stripeCustomer ?? "(none)");
            return null;
        }

        if (type == "customer.subscription.deleted" && status.Length == 0)
        {
            status = "canceled";
        }

        string? subscriptionId = Clip(Text(subscription, "id"), MaxIdLength);
        if (status.Length > 32)
        {
            return null;
        }

        if (IsStale(created, SubscriptionRank(status), customer.SubscriptionEventCreated, SubscriptionRank(customer.SubscriptionStatus), sameObject: subscriptionId == customer.SubscriptionId))
        {
            LogStale(logger, type, customer.Id, status, customer.SubscriptionStatus ?? "(none)");
            return null;
        }

        bool disabled = type == "customer.subscription.deleted" || DisablingStatuses.Contains(status);
        customer.SubscriptionStatus = status;
        customer.SubscriptionId = subscriptionId;
        customer.SubscriptionEventCreated = created ?? customer.SubscriptionEventCreated;
        LogSubscription(logger, customer.Id, customer.SubscriptionStatus, disabled);
        return (customer.Id, disabled);
    }

    /// <summary>
    /// Whether an event loses to the one already applied: it was created earlier, or at the same second with a state
    /// that comes before the applied one (an "active" and a "canceled" of one second: canceled is the later state).
    /// Another subscription's event (a new subscription after a cancellation) only needs to be no older.
    /// </summary>
    private static bool IsStale(DateTimeOffset? created, int rank, DateTimeOffset? applied, int appliedRank, bool sameObject)
    {
        if (applied is not { } appliedAt)
        {
            return false;
        }

        if (created is not { } at)
        {
            // Without a creation time the event cannot be placed; the applied state, which has one, stands.
            return true;
        }

        return at < appliedAt || (at == appliedAt && sameObject && rank < appliedRank);
    }

    // The order a subscription's states are reached in: a later state wins a tie of creation times.
    private static int SubscriptionRank(string? status) => status switch
    {
        "incomplete" => 0,
        "trialing" => 1,
        "active" => 2,
        "past_due" => 3,
        "paused" => 4,
        "unpaid" => 5,
        "incomplete_expired" => 6,
        "canceled" => 7,
        _ => 0,
    };

    private static int InvoiceRank(string? status) => status switch
    {
        "draft" => 0,
        "open" => 1,
        "paid" or "void" or "uncollectible" => 2,
        _ => 0,
    };

    private async Task ApplyInvoiceAsync(ServerlessDbContext db, string type, DateTimeOffset? created, JsonElement invoice, CancellationToken cancellationToken)
    {
        string? invoiceId = Text(invoice, "id");
        string? stripeCustomer = Text(invoice, "customer");
        if (invoiceId is null || stripeCustomer is null || invoiceId.Length > MaxIdLength)
        {
            return;
        }

        var customer = await db.Customers.AsNoTracking().SingleOrDefaultAsync(x => x.StripeCustomerId == stripeCustomer, cancellationToken);
        if (customer is null)
        {
            LogUnknownCustomer(logger, "invoice", stripeCustomer);
            return;
        }

        long Long(string name) => invoice.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : 0;
        DateTimeOffset Time(string name) => DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(Long(name), 0, 253402300799));
        var period = await db.Set<BillingPeriod>().FindAsync([invoiceId], cancellationToken);
        if (period is null)
        {
            period = new BillingPeriod { InvoiceId = invoiceId, CustomerId = customer.Id, Status = "draft", Currency = "usd" };
            db.Add(period);
        }

        string? status = Clip(Text(invoice, "status"), 32);
        if (IsStale(created, InvoiceRank(status), period.EventCreated, InvoiceRank(period.Status), sameObject: true))
        {
            LogStale(logger, type, customer.Id, status ?? "(none)", period.Status);
            return;
        }

        period.Status = status ?? period.Status;
        period.PeriodStart = Time("period_start");
        period.PeriodEnd = Time("period_end");
        period.AmountDue = Long("amount_due");
        period.AmountPaid = Long("amount_paid");
        period.Currency = Clip(Text(invoice, "currency"), 8) ?? period.Currency;
        period.HostedInvoiceUrl = Clip(Text(invoice, "hosted_invoice_url"), 1000) ?? period.HostedInvoiceUrl;
        period.UpdatedAt = time.GetUtcNow();
        period.EventCreated = created ?? period.EventCreated;
    }

    // A value longer than its column cannot be a real Stripe value; it is dropped rather than failing the event.
    private static string? Clip(string? value, int max) => value is { Length: var length } && length <= max ? value : null;

    private static string Truncate(string text) => text.Length <= 8000 ? text : text[..8000];

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe webhook {Type} ({EventId}) processed")]
    private static partial void LogProcessed(ILogger logger, string type, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe reported meter event errors ({EventId}); see GET /v1/admin/billing/errors")]
    private static partial void LogMeterError(ILogger logger, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe webhook {Type} for unknown Stripe customer {StripeCustomerId}")]
    private static partial void LogUnknownCustomer(ILogger logger, string type, string stripeCustomerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Type} for customer {CustomerId} ({Status}) is older than the state already applied ({Applied}); ignored")]
    private static partial void LogStale(ILogger logger, string type, string customerId, string status, string applied);

    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId} subscription is {Status}; keys disabled: {Disabled}")]
    private static partial void LogSubscription(ILogger logger, string customerId, string status, bool disabled);
}
