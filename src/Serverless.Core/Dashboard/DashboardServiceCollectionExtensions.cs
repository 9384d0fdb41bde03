using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Core.Http;

namespace Serverless.Core.Dashboard;

public static class DashboardServiceCollectionExtensions
{
    /// <summary>
    /// The customer dashboard: page, assets, session cookie (the <see cref="ISessionAuthenticator"/>) and its JSON routes.
    /// Its batch routes need AddBatches and AddFiles.
    /// </summary>
    public static IServiceCollection AddDashboard(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DashboardOptions>()
            .Bind(configuration.GetSection(DashboardOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.SecureCookie is CookieSecurePolicy.SameAsRequest or CookieSecurePolicy.Always, "Dashboard:SecureCookie must be SameAsRequest or Always.")
            .ValidateOnStart();
        services.AddSingleton<DashboardTokens>();
        services.AddSingleton<DashboardSessions>();
        services.AddSingleton<ISessionAuthenticator>(provider => provider.GetRequiredService<DashboardSessions>());
        services.AddSingleton<DashboardAssets>();
        services.AddSingleton<DashboardOverview>();
        services.AddApiRoutes(
            DashboardPageHandler.Route, DashboardAssetHandler.Route, DashboardSessionHandler.Route,
            DashboardSignInHandler.Route, DashboardLinkSignInHandler.Route, DashboardSignOutHandler.Route,
            DashboardOverviewHandler.Route, DashboardChartHandler.Route, DashboardRequestsHandler.Route,
            DashboardKeysHandler.Route, DashboardCreateKeyHandler.Route, DashboardRevokeKeyHandler.Route,
            DashboardBillingHandler.Route, DashboardBatchesHandler.Route, DashboardCancelBatchHandler.Route,
            DashboardFileContentHandler.Route);
        services.AddSingleton<DashboardBatches>();
        return services;
    }
}
