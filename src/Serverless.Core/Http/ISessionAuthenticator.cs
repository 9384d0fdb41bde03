using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>
/// Authenticates browser sessions (the dashboard's cookie) for <see cref="ApiAuth.Session"/> routes. Failures are
/// thrown as <see cref="ApiException"/>: 401 without a valid session, 403 when an unsafe method lacks its CSRF token.
/// </summary>
public interface ISessionAuthenticator
{
    ValueTask<ApiCaller> AuthenticateSessionAsync(HttpContext http, CancellationToken cancellationToken);
}
