using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Http;

/// <summary>Authenticates callers; failures are thrown as <see cref="ApiException"/> (401/403).</summary>
public interface IApiAuthenticator
{
    ValueTask<ApiCaller> AuthenticateKeyAsync(HttpContext http, CancellationToken cancellationToken);

    void RequireAdmin(HttpContext http);
}
