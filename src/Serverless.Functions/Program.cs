using Microsoft.Extensions.Hosting;
using Serverless.Core.Data;
using Serverless.Functions;

var host = FunctionsAppHost.Build(args);

// Every instance brings the database up to date before it serves: with SQLite the file is on the instance's own
// disk (infra/README.md explains why), so a fresh instance starts from an empty file.
await host.Services.MigrateDatabaseAsync();
await host.RunAsync();
