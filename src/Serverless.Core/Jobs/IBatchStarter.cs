using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Jobs;

/// <summary>
/// Starts a batch's orchestration (instance id = batch id). One implementation per host: Durable Functions' client in
/// the Functions app, DurableTask.Core's client on Azure Storage in the local host.
/// </summary>
public interface IBatchStarter
{
    /// <param name="http">The request creating the batch (the Functions app's durable client binding travels with it).</param>
    Task StartAsync(HttpContext http, string batchId, CancellationToken cancellationToken);
}
