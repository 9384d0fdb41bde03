using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Dashboard;

/// <summary>
/// The dashboard's session cookie: issued after a sign-in, verified on every <see cref="ApiAuth.Session"/> route.
/// </summary>
/// <remarks>
/// The cookie holds a signed token (<see cref="DashboardTokens"/>), never the API key: HttpOnly (scripts cannot read
/// it), SameSite=Strict (no other site can make the browser send it), Secure on HTTPS, scoped to /dashboard, and
/// valid for <see cref="DashboardOptions.SessionLifetime"/> at most. A session opened with an API key lasts only
/// while that key is active and may do only what the key may (its permissions, models and expiry, read on every
/// request): revoking the key (or its expiry) ends it on the next request, and so does disabling the customer. Unsafe methods must
/// also come from this origin (Sec-Fetch-Site / Origin) and carry the session's CSRF token in
/// <see cref="CsrfHeader"/>, which the page gets from GET /dashboard/api/session.
/// </remarks>
public sealed partial class DashboardSessions(
    DashboardTokens tokens,
    ApiKeyService keys,
    IOptions<DashboardOptions> options,
    TimeProvider time,
    ILogger<DashboardSessions> logger) : ISessionAuthenticator
{
    public const string CookieName = "svl_session";
    public const string CookiePath = "/dashboard";
    public const string CsrfHeader = "X-CSRF-Token";

    private readonly DashboardOptions _options = options.Value;

    public async ValueTask<ApiCaller> AuthenticateSessionAsync(HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var (claims, caller) = await ReadCallerAsync(http, cancellationToken) is { } session
            ? session
            : throw ApiException.InvalidApiKey("You are not signed in to the dashboard, or your session has ended. Sign in again.");

        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            RequireSameOrigin(http);
            if (!tokens.IsValidCsrfToken(claims.Id, http.Request.Headers[CsrfHeader].ToString()))
            {
                LogCsrfRejected(logger, claims.CustomerId, http.Request.Method, http.Request.Path);
                throw ApiException.Forbidden($"Missing or invalid {CsrfHeader} header. Reload the page and try again.", "csrf_token_invalid");
            }
        }

        http.Items[typeof(DashboardClaims)] = claims;
        return caller;
    }

    /// <summary>The session of this request, or null: no cookie, a bad or expired token, its key no longer active, or its customer disabled.</summary>
    public async ValueTask<DashboardClaims?> ReadAsync(HttpContext http, CancellationToken cancellationToken) =>
        (await ReadCallerAsync(http, cancellationToken))?.Claims;

    /// <summary>
    /// The session of this request and what it may do, read from the key (or, for a sign-in link, the customer) on every
    /// request: the key's permissions, model scope and expiry.
    /// </summary>
    public async ValueTask<(DashboardClaims Claims, ApiCaller Caller)?> ReadCallerAsync(HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var claims = tokens.ReadSession(http.Request.Cookies[CookieName], time.GetUtcNow());
        if (claims is null)
        {
            return null;
        }

        var caller = await keys.GetSessionCallerAsync(claims.CustomerId, claims.KeyId, cancellationToken);
        return caller is null ? null : (claims, caller);
    }

    /// <summary>The claims <see cref="AuthenticateSessionAsync"/> verified for this request.</summary>
    public static DashboardClaims Claims(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Items[typeof(DashboardClaims)] as DashboardClaims
            ?? throw new InvalidOperationException("The route has no dashboard session authentication.");
    }

    /// <summary>Starts a session for a customer (with the key it was opened with, if any) and sets its cookie.</summary>
    public DashboardClaims SignIn(HttpContext http, string customerId, string? keyId)
    {
        ArgumentNullException.ThrowIfNull(http);
        var now = time.GetUtcNow();
        string token = tokens.CreateSession(customerId, keyId, now, _options.SessionLifetime);
        var claims = tokens.ReadSession(token, now)!;
        http.Response.Cookies.Append(CookieName, token, CookieOptions(http, _options.SessionLifetime));
        LogSignedIn(logger, customerId, keyId ?? "(sign-in link)");
        return claims;
    }

    public void SignOut(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.Cookies.Delete(CookieName, CookieOptions(http, null));
    }

    /// <summary>
    /// Refuses a request another site made the browser send (a forged form post or fetch). Browsers say where a
    /// request comes from in Sec-Fetch-Site (every current one) or Origin; clients that send neither are not
    /// browsers, and CSRF is an attack on browsers.
    /// </summary>
    public static void RequireSameOrigin(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var request = http.Request;
        string site = request.Headers["Sec-Fetch-Site"].ToString();
        bool allowed;
        if (site.Length > 0)
        {
            // Behind a proxy the Host the app sees may differ from the browser's, so when the browser states the relation, trust that.
            allowed = site is "same-origin";
        }
        else
        {
            string origin = request.Headers.Origin.ToString();
            allowed = origin.Length == 0
                || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
        }

        if (!allowed)
        {
            throw ApiException.Forbidden("Cross-site requests to the dashboard are not allowed.", "cross_site_request");
        }
    }

    private CookieOptions CookieOptions(HttpContext http, TimeSpan? maxAge) => new()
    {
        HttpOnly = true,
        Secure = _options.SecureCookie == CookieSecurePolicy.Always || IsHttps(http.Request),
        SameSite = SameSiteMode.Strict,
        Path = CookiePath,
        MaxAge = maxAge,
        IsEssential = true,
    };

    private static bool IsHttps(HttpRequest request) =>
        request.IsHttps || string.Equals(request.Headers["X-Forwarded-Proto"].ToString(), "https", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard session started for customer {CustomerId} with {KeyId}")]
    private static partial void LogSignedIn(ILogger logger, string customerId, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard {Method} {Path} of customer {CustomerId} refused: missing or invalid CSRF token")]
    private static partial void LogCsrfRejected(ILogger logger, string customerId, string method, string path);
}
