using Microsoft.AspNetCore.Http;
using Serverless.Core.Http;
using Serverless.Core.Keys;

namespace Serverless.Core.Dashboard;

/// <summary>
/// GET /dashboard/api/keys: the customer's keys, masked, oldest first. A session whose key cannot manage keys
/// (no <see cref="ApiKeyPermissions.KeysManage"/>) sees only that key: the others are not its business.
/// </summary>
public sealed class DashboardKeysHandler(ApiKeyService keys) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardKeys", "GET", "/dashboard/api/keys", ApiAuth.Session, typeof(DashboardKeysHandler));

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        var list = await keys.ListAsync(caller.CustomerId, call.Aborted);
        var visible = caller.Has(ApiKeyPermissions.KeysManage) ? list : list.Where(k => k.KeyId == caller.KeyId);
        await DashboardResponses.WriteJsonAsync(call.Http, new DashboardKeyList(visible.Select(k => ToObject(k, caller.KeyId)).ToList()), DashboardJsonContext.Default.DashboardKeyList);
    }

    internal static DashboardKeyObject ToObject(ApiKeyInfo key, string sessionKeyId) => new(
        key.KeyId,
        key.Name,
        key.MaskedKey,
        key.ModelScope,
        key.Permissions,
        key.Status.Name(),
        key.CreatedAt.ToUnixTimeSeconds(),
        key.ExpiresAt?.ToUnixTimeSeconds(),
        key.RevokedAt?.ToUnixTimeSeconds(),
        key.LastUsedAt?.ToUnixTimeSeconds(),
        key.KeyId == sessionKeyId);
}

/// <summary>
/// POST /dashboard/api/keys {"name", "models", "permissions", "expires_in_days"}: a new key for the signed-in customer,
/// shown once, and no broader than the session's key (<see cref="ApiKeyService.CreateWithinAsync"/>): 403 otherwise.
/// </summary>
public sealed class DashboardCreateKeyHandler(ApiKeyService keys, TimeProvider time) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardCreateKey", "POST", "/dashboard/api/keys", ApiAuth.Session, typeof(DashboardCreateKeyHandler)) { Permission = ApiKeyPermissions.KeysManage };

    public const int MaxExpiryDays = 3650;

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        var request = await DashboardSessionHandler.ReadBodyAsync(call, DashboardJsonContext.Default.CreateDashboardKeyRequest);
        string name = string.IsNullOrWhiteSpace(request.Name) ? "dashboard" : request.Name.Trim();
        if (request.ExpiresInDays is int days && days is < 1 or > MaxExpiryDays)
        {
            throw ApiException.InvalidValue("expires_in_days", $"'expires_in_days' must be between 1 and {MaxExpiryDays}.");
        }

        DateTimeOffset? expires = request.ExpiresInDays is int d ? time.GetUtcNow().AddDays(d) : null;
        CreatedApiKey created;
        try
        {
            // Always the session's own customer: the body has no field that could name another.
            created = await keys.CreateWithinAsync(caller, name, request.Models, expires, request.Permissions, call.Aborted);
        }
        catch (ArgumentException ex)
        {
            throw ApiException.BadRequest(ex.Message, ex.ParamName switch { "modelScope" => "models", "name" => "name", _ => ex.ParamName });
        }
        catch (KeyGrantDeniedException ex)
        {
            throw Denied(ex);
        }

        await DashboardResponses.WriteJsonAsync(
            call.Http, new CreatedDashboardKey(created.Key, DashboardKeysHandler.ToObject(created.Info, caller.KeyId)),
            DashboardJsonContext.Default.CreatedDashboardKey, StatusCodes.Status201Created);
    }

    internal static ApiException Denied(KeyGrantDeniedException denied) =>
        new(StatusCodes.Status403Forbidden, "permission_error", denied.Code, denied.Message, denied.Param);
}

/// <summary>
/// DELETE /dashboard/api/keys/{id}: revokes one of the signed-in customer's keys. Another customer's key id answers
/// 404, exactly like an id that does not exist, so a session cannot even learn which ids exist elsewhere. A key
/// broader than the session's key answers 403 (<see cref="ApiKeyService.RevokeWithinAsync"/>).
/// </summary>
public sealed class DashboardRevokeKeyHandler(ApiKeyService keys) : IApiHandler
{
    public static readonly ApiRoute Route = new("DashboardRevokeKey", "DELETE", "/dashboard/api/keys/{id}", ApiAuth.Session, typeof(DashboardRevokeKeyHandler)) { Permission = ApiKeyPermissions.KeysManage };

    public async Task HandleAsync(ApiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var caller = call.RequireCaller();
        string id = call.RouteId ?? string.Empty;
        ApiKeyInfo? revoked;
        try
        {
            revoked = await keys.RevokeWithinAsync(caller, id, call.Aborted);
        }
        catch (KeyGrantDeniedException ex)
        {
            throw DashboardCreateKeyHandler.Denied(ex);
        }

        if (revoked is null)
        {
            throw ApiException.NotFound($"No API key with id '{id}'.", "key_not_found", "id");
        }

        await DashboardResponses.WriteJsonAsync(call.Http, DashboardKeysHandler.ToObject(revoked, caller.KeyId), DashboardJsonContext.Default.DashboardKeyObject);
    }
}
