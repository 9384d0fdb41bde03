using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>What a handler gets: the HTTP exchange, the request id, the caller and the route's {id}, if any.</summary>
public sealed record ApiCall(HttpContext Http, string RequestId, ApiCaller? Caller, string? RouteId)
{
    public CancellationToken Aborted => Http.RequestAborted;

    public ApiCaller RequireCaller() => Caller ?? throw new InvalidOperationException("Route has no API key authentication.");
}
