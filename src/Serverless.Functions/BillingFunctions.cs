using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Serverless.Core.Billing;
using Serverless.Core.Http;

namespace Serverless.Functions;

/// <summary>Stripe billing: the webhook, admin routes, and the exporter and reconciler on timers.</summary>
public sealed class BillingFunctions(ApiDispatcher api, UsageExporter exporter, Reconciler reconciler, StripeClientFactory stripe)
{
    [Function("StripeWebhook")]
    public Task<IActionResult> Webhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "stripe/webhook")] HttpRequest request) =>
        api.RunAsync(StripeWebhookHandler.Route, request);

    [Function("AdminCustomer")]
    public Task<IActionResult> Customer(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/customers")] HttpRequest request) =>
        api.RunAsync(AdminCustomerHandler.Route, request);

    [Function("AdminBillingStatus")]
    public Task<IActionResult> Status(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/billing/status")] HttpRequest request) =>
        api.RunAsync(AdminBillingStatusHandler.Route, request);

    [Function("AdminDeadLetters")]
    public Task<IActionResult> DeadLetters(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/billing/dead-letters")] HttpRequest request) =>
        api.RunAsync(AdminDeadLettersHandler.Route, request);

    [Function("AdminRetryDeadLetters")]
    public Task<IActionResult> RetryDeadLetters(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/billing/dead-letters/retry")] HttpRequest request) =>
        api.RunAsync(AdminRetryDeadLettersHandler.Route, request);

    [Function("AdminExport")]
    public Task<IActionResult> Export(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/billing/export")] HttpRequest request) =>
        api.RunAsync(AdminExportHandler.Route, request);

    [Function("AdminReconcile")]
    public Task<IActionResult> Reconcile(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v1/admin/billing/reconcile")] HttpRequest request) =>
        api.RunAsync(AdminReconcileHandler.Route, request);

    [Function("AdminMeterErrors")]
    public Task<IActionResult> MeterErrors(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v1/admin/billing/errors")] HttpRequest request) =>
        api.RunAsync(AdminMeterErrorsHandler.Route, request);

    /// <summary>One export pass a minute; a lease in the database keeps instances from exporting at once.</summary>
    [Function("ExportUsage")]
    public async Task ExportUsage([TimerTrigger("0 */1 * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        await exporter.RunPassAsync(cancellationToken);
    }

    /// <summary>Reconciliation (with corrections) every six hours.</summary>
    [Function("ReconcileUsage")]
    public async Task ReconcileUsage([TimerTrigger("0 0 */6 * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        if (stripe.Enabled)
        {
            await reconciler.RunAsync(null, null, correct: true, cancellationToken);
        }
    }
}
