using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;

namespace Serverless.Core.Keys;

/// <summary>POST /v1/admin/keys: issue a key; the response is the only place the full key ever appears.</summary>
public sealed class AdminCreateKeyHandler(ApiKeyService keys) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminCreateKey", "POST", "/v1/admin/keys", ApiAuth.Admin, typeof(AdminCreateKeyHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        CreateApiKeyRequest? request;
        using (var body = await JsonBody.ReadSmallAsync(call.Http.Request, call.Aborted))
        {
            try
            {
                request = body.RootElement.Deserialize(KeysJsonContext.Default.CreateApiKeyRequest);
            }
            catch (JsonException ex)
            {
                throw ApiException.BadRequest($"Invalid key request: {ex.Message}");
            }
        }

        if (request is null || string.IsNullOrWhiteSpace(request.Customer))
        {
            throw ApiException.MissingParameter("customer");
        }

        CreatedApiKey created;
        try
        {
            created = await keys.CreateAsync(request.Customer, request.Name ?? "default", request.Models, request.ExpiresAtTime, request.Permissions, call.Aborted);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.BadRequest(ex.Message, ex.ParamName);
        }

        await call.WriteJsonAsync(CreateApiKeyResponse.From(created), KeysJsonContext.Default.CreateApiKeyResponse, StatusCodes.Status201Created);
    }
}

/// <summary>GET /v1/admin/keys[?customer=acme]: keys, masked.</summary>
public sealed class AdminListKeysHandler(ApiKeyService keys) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminListKeys", "GET", "/v1/admin/keys", ApiAuth.Admin, typeof(AdminListKeysHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string? customer = call.Query("customer");
        var list = await keys.ListAsync(customer, call.Aborted);
        await call.WriteJsonAsync(ApiKeyListResponse.From(list), KeysJsonContext.Default.ApiKeyListResponse);
    }
}

/// <summary>DELETE /v1/admin/keys/{id}: revoke; the next request with that key on this instance gets 401.</summary>
public sealed class AdminRevokeKeyHandler(ApiKeyService keys) : IApiHandler
{
    public static readonly ApiRoute Route = new("AdminRevokeKey", "DELETE", "/v1/admin/keys/{id}", ApiAuth.Admin, typeof(AdminRevokeKeyHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        string id = call.RouteId ?? string.Empty;
        if (!await keys.RevokeAsync(id, call.Aborted))
        {
            throw ApiException.NotFound($"No API key with id '{id}'.", "key_not_found", "id");
        }

        await call.WriteJsonAsync(new RevokeApiKeyResponse(id), KeysJsonContext.Default.RevokeApiKeyResponse);
    }
}
