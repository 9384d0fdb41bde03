namespace Serverless.Core.Keys;

/// <summary>
/// A key holder asked for more than its own key allows: a key broader than itself, or revoking a broader key.
/// The dashboard answers it as 403 with <see cref="Code"/>.
/// </summary>
public sealed class KeyGrantDeniedException : Exception
{
    /// <summary>The caller lacks <see cref="ApiKeyPermissions.KeysManage"/>.</summary>
    public const string InsufficientPermissions = "insufficient_permissions";

    /// <summary>The new key would use models the caller's key may not.</summary>
    public const string ModelsExceeded = "key_models_exceeded";

    /// <summary>The new key would hold permissions the caller's key does not.</summary>
    public const string PermissionsExceeded = "key_permissions_exceeded";

    /// <summary>The new key would outlive the caller's key.</summary>
    public const string ExpiryExceeded = "key_expiry_exceeded";

    /// <summary>The key to revoke can do more than the caller's key.</summary>
    public const string TargetBroader = "key_broader_than_session";

    public KeyGrantDeniedException(string code, string message, string? param = null)
        : base(message)
    {
        Code = code;
        Param = param;
    }

    public KeyGrantDeniedException()
        : this(InsufficientPermissions, "Not allowed.")
    {
    }

    public KeyGrantDeniedException(string message)
        : this(InsufficientPermissions, message)
    {
    }

    public KeyGrantDeniedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = InsufficientPermissions;
    }

    public string Code { get; }

    public string? Param { get; }
}
