using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Billing;

/// <summary>POST /v1/admin/customers {"id","name","stripe_customer_id"?}: create the customer and its Stripe customer, or link an existing one.</summary>
public sealed class AdminCustomerHandler(BillingSetup setup, StripeClientFactory clients) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminCustomer", "POST", "/v1/admin/customers", ApiAuth.Admin, typeof(AdminCustomerHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
        string id = JsonFields.RequiredString(body.RootElement, "id");
        string? name = JsonFields.OptionalString(body.RootElement, "name");
        string? stripeId = JsonFields.OptionalString(body.RootElement, "stripe_customer_id");
        if (stripeId is null && !clients.Enabled)
        {
            throw ApiException.BadRequest("Stripe is not configured: pass 'stripe_customer_id' to link an existing Stripe customer, or set Stripe:ApiKey.", "stripe_customer_id");
        }

        Keys.Customer customer;
        try
        {
            customer = await setup.EnsureCustomerAsync(id, name, stripeId, call.Aborted);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.InvalidValue(ex.ParamName switch { "existingStripeCustomerId" => "stripe_customer_id", "name" => "name", _ => "id" }, ex.Message);
        }
        catch (StripeCustomerTakenException ex)
        {
            throw new ApiException(StatusCodes.Status409Conflict, "invalid_request_error", "stripe_customer_taken", ex.Message, "stripe_customer_id");
        }

        await call.WriteJsonAsync(
            new CustomerObject(customer.Id, customer.Name, customer.StripeCustomerId, customer.Disabled, customer.SubscriptionStatus),
            BillingJsonContext.Default.CustomerObject);
    }
}

/// <summary>GET /v1/admin/billing/status: meters, what is exported, pending and dead-lettered, the last reconciliation.</summary>
public sealed class AdminBillingStatusHandler(BillingAdmin admin) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminBillingStatus", "GET", "/v1/admin/billing/status", ApiAuth.Admin, typeof(AdminBillingStatusHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        await call.WriteJsonAsync(await admin.StatusAsync(call.Aborted), BillingJsonContext.Default.BillingStatusObject);
    }
}

/// <summary>GET /v1/admin/billing/dead-letters: buckets Stripe rejected permanently.</summary>
public sealed class AdminDeadLettersHandler(BillingAdmin admin) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminDeadLetters", "GET", "/v1/admin/billing/dead-letters", ApiAuth.Admin, typeof(AdminDeadLettersHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var list = await admin.DeadLettersAsync(call.Aborted);
        await call.WriteJsonAsync(new BucketList(list.Select(BucketObject.From).ToList()), BillingJsonContext.Default.BucketList);
    }
}

/// <summary>POST /v1/admin/billing/dead-letters/retry {"ids"?: [..]}: put dead letters back in line (all when no ids).</summary>
public sealed class AdminRetryDeadLettersHandler(UsageExporter exporter) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminRetryDeadLetters", "POST", "/v1/admin/billing/dead-letters/retry", ApiAuth.Admin, typeof(AdminRetryDeadLettersHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        List<long>? ids = null;
        if (call.Http.Request.ContentLength is > 0)
        {
            using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
            if (JsonFields.TryGet(body.RootElement, "ids", out var array))
            {
                if (array.ValueKind != JsonValueKind.Array || array.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out _)))
                {
                    throw ApiException.InvalidType("ids", "an array of bucket ids", JsonFields.Describe(array));
                }

                ids = array.EnumerateArray().Select(e => e.GetInt64()).ToList();
            }
        }

        int count = await exporter.RetryDeadLettersAsync(ids, call.Aborted);
        call.Http.Response.ContentType = "application/json";
        await call.Http.Response.WriteAsync($"{{\"object\":\"billing.retry\",\"requeued\":{count}}}", call.Aborted);
    }
}

/// <summary>POST /v1/admin/billing/export: run one export pass now.</summary>
public sealed class AdminExportHandler(UsageExporter exporter) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminExport", "POST", "/v1/admin/billing/export", ApiAuth.Admin, typeof(AdminExportHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var result = await exporter.RunPassAsync(call.Aborted);
        await call.WriteJsonAsync(result, BillingJsonContext.Default.ExportPassResult);
    }
}

/// <summary>POST /v1/admin/billing/reconcile {"start"?, "end"? (Unix seconds), "fix"?: bool}: compare ledger, exports and Stripe.</summary>
public sealed class AdminReconcileHandler(Reconciler reconciler, StripeClientFactory clients) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminReconcile", "POST", "/v1/admin/billing/reconcile", ApiAuth.Admin, typeof(AdminReconcileHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        long? start = null, end = null;
        bool fix = false;
        if (call.Http.Request.ContentLength is > 0)
        {
            using var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted);
            start = JsonFields.OptionalInteger(body.RootElement, "start");
            end = JsonFields.OptionalInteger(body.RootElement, "end");
            fix = JsonFields.OptionalBool(body.RootElement, "fix") ?? false;
        }

        if (!clients.Enabled)
        {
            throw ApiException.BadRequest("Stripe is not configured (Stripe:ApiKey), so there is nothing to reconcile against.");
        }

        ReconciliationResult result;
        try
        {
            result = await reconciler.RunAsync(
                start is long s ? DateTimeOffset.FromUnixTimeSeconds(s) : null, end is long e ? DateTimeOffset.FromUnixTimeSeconds(e) : null, fix, call.Aborted);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.InvalidValue("end", ex.Message);
        }

        await call.WriteJsonAsync(ReconciliationObject.From(result), BillingJsonContext.Default.ReconciliationObject);
    }
}

/// <summary>GET /v1/admin/billing/errors: meter error reports Stripe sent by webhook.</summary>
public sealed class AdminMeterErrorsHandler(BillingAdmin admin) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminMeterErrors", "GET", "/v1/admin/billing/errors", ApiAuth.Admin, typeof(AdminMeterErrorsHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var list = await admin.MeterErrorsAsync(call.Aborted);
        await call.WriteJsonAsync(
            new MeterErrorList(list.Select(e => new MeterErrorObject(e.Id, e.EventId, e.MeterId, e.Summary, e.ReceivedAt.ToUnixTimeSeconds())).ToList()),
            BillingJsonContext.Default.MeterErrorList);
    }
}
