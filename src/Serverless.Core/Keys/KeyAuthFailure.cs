namespace Serverless.Core.Keys;

/// <summary>Why a request's API key was refused. Every reason maps to HTTP 401, code "invalid_api_key".</summary>
public enum KeyAuthFailure
{
    None = 0,

    /// <summary>No Authorization header, or "Bearer" with no token.</summary>
    Missing,

    /// <summary>Not a bearer token, or not shaped like one of our keys. The database was not consulted.</summary>
    Malformed,

    /// <summary>Shaped like a key but the checksum does not match: a typo. The database was not consulted.</summary>
    BadChecksum,

    /// <summary>Well formed, but no stored key has this id and hash (never issued, deleted, or another HashSecret).</summary>
    Unknown,

    Revoked,

    Expired,

    /// <summary>The key is fine but its customer has been disabled (billing).</summary>
    CustomerDisabled,
}
