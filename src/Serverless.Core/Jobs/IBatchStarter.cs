namespace Serverless.Core.Jobs;

/// <summary>
/// Starts a batch's orchestration (instance id = batch id). One implementation per host: Durable Functions' client in
/// the Functions app, DurableTask.Core's client on Azure Storage in the local host.
/// </summary>
public interface IBatchStarter
{
    Task StartAsync(string batchId, CancellationToken cancellationToken);
}
