using Serverless.Core.Http;

namespace Serverless.Core.Operations;

/// <summary>GET /v1/admin/overview: the fleet, the export backlog and today's usage, for an operator (admin key).</summary>
public sealed class AdminOverviewHandler(OperatorOverview overview) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminOverview", "GET", "/v1/admin/overview", ApiAuth.Admin, typeof(AdminOverviewHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        await call.WriteJsonAsync(await overview.GetAsync(call.Aborted), OperationsJsonContext.Default.OverviewObject);
    }
}
