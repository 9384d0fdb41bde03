using Serverless.Core.Billing;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Dashboard;

/// <summary>GET /dashboard/api/billing: the signed-in customer's exported and pending usage, last reconciliation and invoices.</summary>
public sealed class DashboardBillingHandler(BillingAdmin billing) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardBilling", "GET", "/dashboard/api/billing", ApiAuth.Session, typeof(DashboardBillingHandler)) { Permission = ApiKeyPermissions.UsageRead };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var status = await billing.CustomerStatusAsync(call.RequireCaller().CustomerId, call.Aborted);
        await DashboardResponses.WriteJsonAsync(call.Http, status, DashboardJsonContext.Default.CustomerBillingObject);
    }
}
