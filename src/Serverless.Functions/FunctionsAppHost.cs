using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Core;

namespace Serverless.Functions;

/// <summary>The Functions app's host, built the same way for the worker (Program) and for tests that inspect its services.</summary>
public static class FunctionsAppHost
{
    public static IHost Build(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        builder.AddServerless();
        builder.AddDurableBatches();
        builder.AddFunctionsTelemetry();
        return builder.Build();
    }
}
