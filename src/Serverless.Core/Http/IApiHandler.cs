namespace Serverless.Core.Http;

/// <summary>One handler per route, shared by the Functions app and the local host.</summary>
public interface IApiHandler
{
    Task HandleAsync(ApiCall call);
}
