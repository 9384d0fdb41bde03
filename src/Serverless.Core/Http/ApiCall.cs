using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>What a handler gets: the HTTP exchange, the request id, the caller and the route's {id}, if any.</summary>
public sealed record ApiCall(HttpContext Http, string RequestId, ApiCaller? Caller, string? RouteId)
{
    public CancellationToken Aborted => Http.RequestAborted;

    public ApiCaller RequireCaller() => Caller ?? throw new InvalidOperationException("Route has no API key authentication.");

    /// <summary>
    /// Set once the request has been counted against its rate windows (by the ledger's admission). The dispatcher
    /// counts a request that never got that far (refused as invalid, say), so every authenticated request counts.
    /// </summary>
    public bool CountedAgainstRate { get; private set; }

    public void MarkCountedAgainstRate() => CountedAgainstRate = true;

    /// <summary>The query parameter's first value; null when it is absent or empty.</summary>
    public string? Query(string name)
    {
        string? value = Http.Request.Query[name].FirstOrDefault();
        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>Answers with <paramref name="value"/> as JSON (application/json), with <paramref name="status"/> when given.</summary>
    public Task WriteJsonAsync<T>(T value, JsonTypeInfo<T> type, int? status = null)
    {
        if (status is int code)
        {
            Http.Response.StatusCode = code;
        }

        return Http.Response.WriteAsJsonAsync(value, type, contentType: null, Aborted);
    }
}
