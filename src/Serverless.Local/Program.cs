using Serverless.Core;
using Serverless.Core.Data;
using Serverless.Core.Files;
using Serverless.Core.Http;
using Serverless.Local;
using Serverless.Local.Billing;
using Serverless.Local.Jobs;
using Serverless.Local.Cli;

if (AdminCli.IsCommand(args))
{
    return await AdminCli.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(AdminCli.ServeArguments(args));
builder.AddServerless();
builder.AddLocalHost();
builder.AddLocalTelemetry();
builder.AddLocalBatchRuntime();
builder.Services.AddBillingBackgroundService();
builder.Services.AddFileSweeperBackgroundService();
var app = builder.Build();
await app.Services.MigrateDatabaseAsync();
app.UseOpenAiErrorPages();
app.MapServerlessApi();
app.MapMetrics();
await app.RunAsync();
return 0;

public partial class Program;
