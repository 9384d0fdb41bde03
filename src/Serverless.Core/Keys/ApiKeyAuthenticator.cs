using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Keys;

/// <summary>Bearer API keys for /v1 routes and the admin key for /admin routes, as OpenAI-style 401s.</summary>
public sealed class ApiKeyAuthenticator(ApiKeyService keys, AdminAuthenticator admin) : IApiAuthenticator
{
    public async ValueTask<ApiCaller> AuthenticateKeyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var result = await keys.AuthenticateAsync(http.Request.Headers.Authorization.ToString(), cancellationToken);
        if (result.Principal is not { } principal)
        {
            throw ApiException.InvalidApiKey(result.ErrorMessage ?? "Invalid API key.");
        }

        return principal;
    }

    public void RequireAdmin(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (!admin.IsAdmin(http.Request.Headers.Authorization.ToString()))
        {
            throw ApiException.InvalidApiKey("This route needs the admin key: send 'Authorization: Bearer <admin key>'.");
        }
    }
}
