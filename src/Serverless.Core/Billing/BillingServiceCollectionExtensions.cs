using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Billing;

public static class BillingServiceCollectionExtensions
{
    /// <summary>Stripe usage billing: exporter, reconciler, meters and customers setup, webhooks and admin routes.</summary>
    public static IServiceCollection AddBilling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StripeOptions>()
            .Bind(configuration.GetSection(StripeOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => TimeSpan.FromDays(1).Ticks % o.BucketSize.Ticks == 0, "Stripe:BucketSize must divide a day (1m, 5m, 15m, 1h, ...), so buckets never straddle two days.")
            .Validate(o => Uri.TryCreate(o.ApiBase, UriKind.Absolute, out _) && Uri.TryCreate(o.MeterEventsBase, UriKind.Absolute, out _), "Stripe:ApiBase and Stripe:MeterEventsBase must be absolute URLs.")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StripeOptions>, StripeSecretsValidator>();
        services.AddServerlessMetrics();
        services.AddSingleton<StripeClientFactory>();
        services.AddSingleton<MeterEventSender>();
        services.AddSingleton<UsageExporter>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<BillingSetup>();
        services.AddSingleton<BillingAdmin>();
        services.AddSingleton<ExportBacklogReader>();
        services.AddSingleton<IExportBacklog>(provider => provider.GetRequiredService<ExportBacklogReader>());
        services.AddSingleton<StripeWebhookSignature>();
        services.AddSingleton<StripeWebhookProcessor>();
        services.AddApiRoutes(
            StripeWebhookHandler.Route, AdminCustomerHandler.Route, AdminBillingStatusHandler.Route,
            AdminDeadLettersHandler.Route, AdminRetryDeadLettersHandler.Route, AdminExportHandler.Route,
            AdminReconcileHandler.Route, AdminMeterErrorsHandler.Route);
        return services;
    }
}
