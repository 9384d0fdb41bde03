using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;
using Serverless.Core.Telemetry;

namespace Serverless.Core.Metering;

public static class MeteringServiceCollectionExtensions
{
    /// <summary>The usage ledger: group-commit writer, admission and settlement, receipts, the reservation sweeper.</summary>
    public static IServiceCollection AddMetering(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MeteringOptions>()
            .Bind(configuration.GetSection(MeteringOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddServerlessMetrics();
        services.AddSingleton<InstanceIdentity>();
        services.AddSingleton<LedgerConnections>();
        services.AddSingleton<LedgerWriter>();
        services.AddSingleton<MeteringService>();
        services.AddSingleton<IRequestCounter>(sp => sp.GetRequiredService<MeteringService>());
        services.AddSingleton<UsageReceipts>();
        services.AddSingleton<UsageQueries>();
        services.AddSingleton<PriceBook>();
        services.AddSingleton<LimitPolicies>();
        services.AddApiRoutes(
            UsageHandler.Route, ReceiptSecretHandler.Route, AdminUsageExportHandler.Route, AdminSetPriceHandler.Route,
            AdminListPricesHandler.Route, AdminSetLimitsHandler.Route, AdminGetLimitsHandler.Route);
        services.AddSingleton<ReservationSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<ReservationSweeper>());
        return services;
    }
}
