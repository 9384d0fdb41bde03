using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Serverless.Core.Data;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Dashboard;

/// <summary>GET /dashboard/api/session: who is signed in, and the session's CSRF token; signed_in false otherwise (not an error).</summary>
public sealed class DashboardSessionHandler(DashboardSessions sessions, DashboardTokens tokens, IDbContextFactory<ServerlessDbContext> databases) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardSession", "GET", "/dashboard/api/session", ApiAuth.None, typeof(DashboardSessionHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var session = await sessions.ReadCallerAsync(call.Http, call.Aborted) is { } current
            ? await Describe(current.Claims, current.Caller, tokens, databases, call.Aborted)
            : SessionObject.SignedOut;
        await DashboardResponses.WriteJsonAsync(call.Http, session, DashboardJsonContext.Default.SessionObject);
    }

    internal static async Task<SessionObject> Describe(DashboardClaims claims, ApiCaller caller, DashboardTokens tokens, IDbContextFactory<ServerlessDbContext> databases, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        string? name = await db.Customers.AsNoTracking().Where(c => c.Id == claims.CustomerId).Select(c => c.Name).SingleOrDefaultAsync(cancellationToken);
        return new SessionObject(
            true, claims.CustomerId, name ?? claims.CustomerId, claims.KeyId, claims.ExpiresAt.ToUnixTimeSeconds(), tokens.CsrfToken(claims.Id),
            caller.Permissions, caller.ModelScope, caller.ExpiresAt?.ToUnixTimeSeconds());
    }

    internal static async Task<T> ReadBodyAsync<T>(ApiCall call, JsonTypeInfo<T> type)
    {
        using var body = await JsonBody.ReadAsync(call.Http.Request, 16 * 1024, call.Aborted);
        try
        {
            return body.RootElement.Deserialize(type) ?? throw ApiException.BadRequest("The request body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"Invalid request body: {ex.Message}", code: "invalid_json");
        }
    }
}

/// <summary>
/// POST /dashboard/api/session {"api_key": "..."}: exchanges an API key for a session cookie. The key is checked
/// exactly as the API checks it and then forgotten; only the signed session token goes back to the browser.
/// </summary>
public sealed class DashboardSignInHandler(ApiKeyService keys, DashboardSessions sessions, DashboardTokens tokens, IDbContextFactory<ServerlessDbContext> databases) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardSignIn", "POST", "/dashboard/api/session", ApiAuth.None, typeof(DashboardSignInHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        DashboardSessions.RequireSameOrigin(call.Http);
        var request = await DashboardSessionHandler.ReadBodyAsync(call, DashboardJsonContext.Default.SignInRequest);
        string key = request.ApiKey?.Trim() ?? string.Empty;
        if (key.Length == 0)
        {
            throw ApiException.MissingParameter("api_key");
        }

        if (key.Length > 256 || key.AsSpan().ContainsAny(" \t\r\n"))
        {
            throw ApiException.InvalidApiKey("Incorrect API key provided.");
        }

        var result = await keys.AuthenticateAsync("Bearer " + key, call.Aborted);
        if (result.Principal is not { } principal)
        {
            throw ApiException.InvalidApiKey(result.ErrorMessage ?? "Incorrect API key provided.");
        }

        var claims = sessions.SignIn(call.Http, principal.CustomerId, principal.KeyId);
        await DashboardResponses.WriteJsonAsync(call.Http, await DashboardSessionHandler.Describe(claims, principal, tokens, databases, call.Aborted), DashboardJsonContext.Default.SessionObject);
    }
}

/// <summary>POST /dashboard/api/session/link {"token": "..."}: opens a session from a sign-in link made by the admin CLI.</summary>
public sealed class DashboardLinkSignInHandler(DashboardTokens tokens, DashboardSessions sessions, IDbContextFactory<ServerlessDbContext> databases, TimeProvider time) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardLinkSignIn", "POST", "/dashboard/api/session/link", ApiAuth.None, typeof(DashboardLinkSignInHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        DashboardSessions.RequireSameOrigin(call.Http);
        var request = await DashboardSessionHandler.ReadBodyAsync(call, DashboardJsonContext.Default.LinkSignInRequest);
        var link = tokens.ReadLink(request.Token, time.GetUtcNow());
        bool known = false;
        if (link is not null)
        {
            await using var db = await databases.CreateDbContextAsync(call.Aborted);
            known = await db.Customers.AnyAsync(c => c.Id == link.CustomerId && !c.Disabled, call.Aborted);
        }

        if (link is null || !known)
        {
            throw new ApiException(StatusCodes.Status401Unauthorized, "invalid_request_error", "invalid_sign_in_link",
                "This sign-in link is invalid or has expired. Ask for a new one, or sign in with an API key.");
        }

        var claims = sessions.SignIn(call.Http, link.CustomerId, keyId: null);
        var caller = new ApiCaller(string.Empty, link.CustomerId, [], ApiKeyPermissions.All);
        await DashboardResponses.WriteJsonAsync(call.Http, await DashboardSessionHandler.Describe(claims, caller, tokens, databases, call.Aborted), DashboardJsonContext.Default.SessionObject);
    }
}

/// <summary>DELETE /dashboard/api/session: signs out (the cookie is removed; CSRF-protected like every change).</summary>
public sealed class DashboardSignOutHandler(DashboardSessions sessions) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardSignOut", "DELETE", "/dashboard/api/session", ApiAuth.Session, typeof(DashboardSignOutHandler));

    public Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        sessions.SignOut(call.Http);
        return DashboardResponses.WriteJsonAsync(call.Http, SessionObject.SignedOut, DashboardJsonContext.Default.SessionObject);
    }
}
