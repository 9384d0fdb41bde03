using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Serverless.Core.Data;
using Serverless.Core.Keys;
using Stripe;
using Stripe.Billing;

namespace Serverless.Core.Billing;

public sealed record MeterSetupResult(string Kind, string EventName, string StripeMeterId, bool Created);

/// <summary>
/// Creates the Stripe meters the service reports to (input and output tokens) unless meters with those event
/// names already exist, and links customers to Stripe customers. Running setup twice changes nothing.
/// </summary>
public sealed class BillingSetup(StripeClientFactory clients, IDbContextFactory<ServerlessDbContext> databases, ApiKeyService keys, IOptions<StripeOptions> options, TimeProvider time)
{
    private readonly StripeOptions _options = options.Value;

    public async Task<IReadOnlyList<MeterSetupResult>> EnsureMetersAsync(CancellationToken cancellationToken)
    {
        var client = clients.Create();
        var existing = new Dictionary<string, Meter>(StringComparer.Ordinal);
        await foreach (var meter in client.V1.Billing.Meters.ListAutoPagingAsync(new MeterListOptions { Status = "active", Limit = 100 }, cancellationToken: cancellationToken))
        {
            existing.TryAdd(meter.EventName, meter);
        }

        var results = new List<MeterSetupResult>();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        foreach (var kind in MeterKind.All)
        {
            string eventName = _options.EventName(kind);
            bool created = false;
            if (!existing.TryGetValue(eventName, out var meter))
            {
                meter = await client.V1.Billing.Meters.CreateAsync(new MeterCreateOptions
                {
                    DisplayName = kind == MeterKind.InputTokens ? "Input tokens" : "Output tokens",
                    EventName = eventName,
                    DefaultAggregation = new MeterDefaultAggregationOptions { Formula = "sum" },
                    CustomerMapping = new MeterCustomerMappingOptions { EventPayloadKey = "stripe_customer_id", Type = "by_id" },
                    ValueSettings = new MeterValueSettingsOptions { EventPayloadKey = "value" },
                }, requestOptions: new RequestOptions { IdempotencyKey = "svl-meter-" + eventName }, cancellationToken: cancellationToken);
                created = true;
            }

            var row = await db.Set<BillingMeter>().FindAsync([kind], cancellationToken);
            if (row is null)
            {
                db.Add(new BillingMeter { Kind = kind, EventName = eventName, StripeMeterId = meter.Id, CreatedAt = time.GetUtcNow() });
            }
            else
            {
                row.EventName = eventName;
                row.StripeMeterId = meter.Id;
            }

            results.Add(new MeterSetupResult(kind, eventName, meter.Id, created));
        }

        await db.SaveChangesAsync(cancellationToken);
        return results;
    }

    /// <summary>Creates the customer (if new) and its Stripe customer, or links an existing Stripe customer id.</summary>
    public async Task<Keys.Customer> EnsureCustomerAsync(string customerId, string? name, string? existingStripeCustomerId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        await keys.EnsureCustomerAsync(customerId, cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var customer = await db.Customers.SingleAsync(c => c.Id == customerId, cancellationToken);
        if (!string.IsNullOrWhiteSpace(name))
        {
            if (name.Length > MaxNameLength)
            {
                throw new ArgumentException($"A customer name has at most {MaxNameLength} characters.", nameof(name));
            }

            customer.Name = name;
        }

        if (existingStripeCustomerId is not null)
        {
            if (!existingStripeCustomerId.StartsWith("cus_", StringComparison.Ordinal) || existingStripeCustomerId.Length > MaxStripeIdLength)
            {
                throw new ArgumentException($"A Stripe customer id starts with 'cus_' and has at most {MaxStripeIdLength} characters.", nameof(existingStripeCustomerId));
            }

            if (await db.Customers.AnyAsync(c => c.StripeCustomerId == existingStripeCustomerId && c.Id != customerId, cancellationToken))
            {
                throw new StripeCustomerTakenException(existingStripeCustomerId);
            }

            customer.StripeCustomerId = existingStripeCustomerId;
        }
        else if (customer.StripeCustomerId is null)
        {
            var created = await clients.Create().V1.Customers.CreateAsync(new CustomerCreateOptions
            {
                Name = customer.Name,
                Metadata = new Dictionary<string, string> { ["serverless_customer_id"] = customer.Id },
            }, requestOptions: new RequestOptions { IdempotencyKey = "svl-customer-" + customer.Id }, cancellationToken: cancellationToken);
            customer.StripeCustomerId = created.Id;
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (existingStripeCustomerId is not null)
        {
            // Another customer linked the same Stripe customer at the same moment: the unique index decided.
            throw new StripeCustomerTakenException(existingStripeCustomerId);
        }

        return customer;
    }

    private const int MaxNameLength = 200;
    private const int MaxStripeIdLength = 64;
}

/// <summary>The Stripe customer is already linked to another of our customers; one Stripe customer pays for one of ours.</summary>
public sealed class StripeCustomerTakenException(string stripeCustomerId)
    : InvalidOperationException($"The Stripe customer '{stripeCustomerId}' is already linked to another customer.");
