namespace Serverless.Core.Http;

public enum ApiAuth
{
    None,
    ApiKey,
    Admin,

    /// <summary>A dashboard session cookie; unsafe methods also need the session's CSRF token.</summary>
    Session,
}

/// <summary>
/// A route of the service, declared by the feature that serves it and registered with its handler through
/// <see cref="ApiServiceCollectionExtensions.AddApiRoutes"/>; <see cref="ApiRouteTable"/> holds them all.
/// </summary>
public sealed record ApiRoute(string Name, string Method, string Pattern, ApiAuth Auth, Type Handler)
{
    /// <summary>
    /// Whether the dispatcher counts the request against the caller's request rate. Routes that generate
    /// are counted (with their tokens) by the ledger's admission instead.
    /// </summary>
    public bool CountsRequest { get; init; }

    /// <summary>
    /// The permission the caller's key must hold (API-key and session routes); null for none. The dispatcher checks
    /// it, so handlers never do.
    /// </summary>
    public string? Permission { get; init; }

    /// <summary>
    /// A second permission the route needs, for a route that does two kinds of thing: creating a batch both uses the
    /// batch API and asks for completions, so a key with <c>batches</c> alone cannot reach inference through it.
    /// </summary>
    public string? AlsoRequires { get; init; }

    /// <summary>The pattern with its parameters unnamed: two routes with the same method and template are one route to a host.</summary>
    public string Template => System.Text.RegularExpressions.Regex.Replace(Pattern, @"\{[^}]*\}", "{}");

    /// <summary>The pattern as an Azure Functions route (no leading slash).</summary>
    public string FunctionsRoute => Pattern.TrimStart('/');
}
