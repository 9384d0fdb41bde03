using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Core;
using Serverless.Core.Data;
using Serverless.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddServerless();
builder.AddDurableBatches();
var host = builder.Build();

// Every instance brings the database up to date before it serves: with SQLite the file is on the instance's own
// disk (infra/README.md explains why), so a fresh instance starts from an empty file.
await host.Services.MigrateDatabaseAsync();
await host.RunAsync();
