namespace Serverless.Core.Keys;

/// <summary>A stored API key. The key itself is never stored: only its HMAC and what a list may show.</summary>
public sealed class ApiKey
{
    /// <summary>Public short id, embedded in the key; the primary key and what logs and lists show.</summary>
    public required string KeyId { get; set; }

    public required string CustomerId { get; set; }

    public Customer Customer { get; set; } = null!;

    public required string Name { get; set; }

    /// <summary>HMAC-SHA256 of the full key under the server's Keys:HashSecret.</summary>
#pragma warning disable CA1819 // An entity maps a binary column; a copy per access would buy nothing.
    public required byte[] Hash { get; set; }
#pragma warning restore CA1819

    /// <summary>The key prefix in force when the key was made, for masked display.</summary>
    public required string Prefix { get; set; }

    /// <summary>Last four characters of the key (part of its checksum), for masked display.</summary>
    public required string LastFour { get; set; }

    /// <summary>Comma-separated model ids the key may use; null means every model.</summary>
    public string? ModelScope { get; set; }

    /// <summary>Comma-separated <see cref="ApiKeyPermissions"/> names, in their fixed order.</summary>
    public required string Permissions { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>Written at most once a minute per key and instance, so it is accurate to about a minute.</summary>
    public DateTimeOffset? LastUsedAt { get; set; }
}
