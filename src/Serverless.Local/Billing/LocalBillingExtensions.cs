namespace Serverless.Local.Billing;

public static class LocalBillingExtensions
{
    /// <summary>The exporter and reconciler on a schedule inside the process (the local host; Functions uses timers).</summary>
    public static IServiceCollection AddBillingBackgroundService(this IServiceCollection services)
    {
        services.AddHostedService<BillingBackgroundService>();
        return services;
    }
}
