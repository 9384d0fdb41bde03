using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Http;
using Serverless.Core.Keys;
using Stripe;

namespace Serverless.Core.Billing;

/// <summary>
/// POST /stripe/webhook. The Stripe-Signature is verified (HMAC-SHA256 under the endpoint secret, within the
/// tolerance) before anything else; an event id already processed is acknowledged and ignored. Handles
/// subscription changes (a canceled subscription disables the customer's keys, reactivation enables them),
/// invoices (billing period state) and meter error reports.
/// </summary>
public sealed partial class StripeWebhookHandler(
    IOptions<StripeOptions> options,
    IDbContextFactory<ServerlessDbContext> databases,
    ApiKeyService keys,
    TimeProvider time,
    ILogger<StripeWebhookHandler> logger) : IApiHandler
{
    private const long MaxBodyBytes = 1024 * 1024;

    private static readonly HashSet<string> DisablingStatuses = new(StringComparer.Ordinal) { "canceled", "unpaid", "incomplete_expired", "paused" };

    private readonly StripeOptions _options = options.Value;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (string.IsNullOrWhiteSpace(_options.WebhookSecret))
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "service_unavailable_error", "webhook_not_configured", "Stripe:WebhookSecret is not configured.");
        }

        string payload = await ReadBodyAsync(call);
        string signature = call.Http.Request.Headers["Stripe-Signature"].ToString();
        try
        {
            EventUtility.ValidateSignature(payload, signature, _options.WebhookSecret, (long)_options.WebhookTolerance.TotalSeconds, time.GetUtcNow().ToUnixTimeSeconds());
        }
        catch (StripeException ex)
        {
            LogRejected(logger, ex.Message);
            throw ApiException.BadRequest("Invalid or stale Stripe-Signature.", "Stripe-Signature", "invalid_signature");
        }

        JsonElement root;
        try
        {
            root = JsonDocument.Parse(payload).RootElement;
        }
        catch (JsonException)
        {
            throw ApiException.BadRequest("The event is not JSON.", code: "invalid_json");
        }

        string id = root.TryGetProperty("id", out var idElement) ? idElement.GetString() ?? string.Empty : string.Empty;
        string type = root.TryGetProperty("type", out var typeElement) ? typeElement.GetString() ?? string.Empty : string.Empty;
        if (id.Length == 0 || type.Length == 0)
        {
            throw ApiException.BadRequest("The event has no id or type.", code: "invalid_event");
        }

        bool processed = await ProcessOnceAsync(id, type, root, call.Aborted);
        call.Http.Response.ContentType = "application/json";
        await call.Http.Response.WriteAsync(processed ? "{\"received\":true}" : "{\"received\":true,\"duplicate\":true}", call.Aborted);
    }

    private static async Task<string> ReadBodyAsync(ApiCall call)
    {
        var request = call.Http.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            throw ApiException.PayloadTooLarge(MaxBodyBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, call.Aborted)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBodyBytes)
            {
                throw ApiException.PayloadTooLarge(MaxBodyBytes);
            }
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    // The event id row and the event's effects commit together: a crash in between makes Stripe's retry do it all again.
    private async Task<bool> ProcessOnceAsync(string id, string type, JsonElement root, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (await db.Set<WebhookEvent>().AnyAsync(e => e.EventId == id, cancellationToken))
        {
            return false;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Add(new WebhookEvent { EventId = id, Type = type, ReceivedAt = time.GetUtcNow() });
        (string CustomerId, bool Disabled)? keyChange = null;
        var data = root.TryGetProperty("data", out var d) && d.TryGetProperty("object", out var o) ? o : default;
        if (type.StartsWith("customer.subscription.", StringComparison.Ordinal) && data.ValueKind == JsonValueKind.Object)
        {
            keyChange = await ApplySubscriptionAsync(db, type, data, cancellationToken);
        }
        else if (type.StartsWith("invoice.", StringComparison.Ordinal) && data.ValueKind == JsonValueKind.Object)
        {
            await ApplyInvoiceAsync(db, data, cancellationToken);
        }
        else if (type == "v1.billing.meter.error_report_triggered")
        {
            db.Add(new MeterErrorReport
            {
                EventId = id,
                MeterId = root.TryGetProperty("related_object", out var related) && related.TryGetProperty("id", out var meter) ? meter.GetString() : null,
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

    private async Task<(string, bool)?> ApplySubscriptionAsync(ServerlessDbContext db, string type, JsonElement subscription, CancellationToken cancellationToken)
    {
        string? stripeCustomer = subscription.TryGetProperty("customer", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        string status = subscription.TryGetProperty("status", out var s) ? s.GetString() ?? string.Empty : string.Empty;
        var customer = stripeCustomer is null ? null : await db.Customers.SingleOrDefaultAsync(x => x.StripeCustomerId == stripeCustomer, cancellationToken);
        if (customer is null)
        {
            LogUnknownCustomer(logger, type, stripeCustomer ?? "(none)");
            return null;
        }

        bool disabled = type == "customer.subscription.deleted" || DisablingStatuses.Contains(status);
        customer.SubscriptionStatus = type == "customer.subscription.deleted" && status.Length == 0 ? "canceled" : status;
        LogSubscription(logger, customer.Id, customer.SubscriptionStatus, disabled);
        return (customer.Id, disabled);
    }

    private async Task ApplyInvoiceAsync(ServerlessDbContext db, JsonElement invoice, CancellationToken cancellationToken)
    {
        string? invoiceId = invoice.TryGetProperty("id", out var i) ? i.GetString() : null;
        string? stripeCustomer = invoice.TryGetProperty("customer", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (invoiceId is null || stripeCustomer is null)
        {
            return;
        }

        var customer = await db.Customers.AsNoTracking().SingleOrDefaultAsync(x => x.StripeCustomerId == stripeCustomer, cancellationToken);
        if (customer is null)
        {
            LogUnknownCustomer(logger, "invoice", stripeCustomer);
            return;
        }

        long Long(string name) => invoice.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        string? Text(string name) => invoice.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var period = await db.Set<BillingPeriod>().FindAsync([invoiceId], cancellationToken);
        if (period is null)
        {
            period = new BillingPeriod { InvoiceId = invoiceId, CustomerId = customer.Id, Status = "draft", Currency = "usd" };
            db.Add(period);
        }

        period.Status = Text("status") ?? period.Status;
        period.PeriodStart = DateTimeOffset.FromUnixTimeSeconds(Long("period_start"));
        period.PeriodEnd = DateTimeOffset.FromUnixTimeSeconds(Long("period_end"));
        period.AmountDue = Long("amount_due");
        period.AmountPaid = Long("amount_paid");
        period.Currency = Text("currency") ?? period.Currency;
        period.HostedInvoiceUrl = Text("hosted_invoice_url") ?? period.HostedInvoiceUrl;
        period.UpdatedAt = time.GetUtcNow();
    }

    private static string Truncate(string text) => text.Length <= 8000 ? text : text[..8000];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe webhook rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe webhook {Type} ({EventId}) processed")]
    private static partial void LogProcessed(ILogger logger, string type, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe reported meter event errors ({EventId}); see GET /v1/admin/billing/errors")]
    private static partial void LogMeterError(ILogger logger, string eventId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe webhook {Type} for unknown Stripe customer {StripeCustomerId}")]
    private static partial void LogUnknownCustomer(ILogger logger, string type, string stripeCustomerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Customer {CustomerId} subscription is {Status}; keys disabled: {Disabled}")]
    private static partial void LogSubscription(ILogger logger, string customerId, string status, bool disabled);
}
