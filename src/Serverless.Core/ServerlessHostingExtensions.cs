using Microsoft.Extensions.Hosting;
using Serverless.Core.Billing;
using Serverless.Core.Dashboard;
using Serverless.Core.Data;
using Serverless.Core.Http;
using Serverless.Core.Files;
using Serverless.Core.Inference;
using Serverless.Core.Jobs;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;
using Serverless.Core.Operations;
using Serverless.Core.Telemetry;

namespace Serverless.Core;

public static class ServerlessHostingExtensions
{
    /// <summary>Everything the service needs, registered the same way by the Functions app and the local host.</summary>
    public static IHostApplicationBuilder AddServerless(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        builder.AddServerlessTelemetry();
        builder.Services
            .AddApi()
            .AddDatabase(configuration)
            .AddApiKeys(configuration)
            .AddMetering(configuration)
            .AddBilling(configuration)
            .AddDashboard(configuration)
            .AddModels(configuration)
            .AddInference(configuration)
            .AddFiles(configuration)
            .AddBatches(configuration)
            .AddOperations();
        return builder;
    }
}
