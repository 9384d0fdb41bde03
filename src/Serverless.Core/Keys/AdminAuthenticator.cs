using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Serverless.Core.Keys;

/// <summary>Checks the operator's bearer token for the admin API.</summary>
public sealed class AdminAuthenticator
{
    private readonly byte[]? _expectedDigest;

    public AdminAuthenticator(IOptions<AdminKeyOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = options.Value.Key;
        _expectedDigest = string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>True when an admin key is configured and the header is <c>Bearer &lt;that key&gt;</c>.</summary>
    public bool IsAdmin(string? authorizationHeader)
    {
        if (_expectedDigest is null || BearerToken.Extract(authorizationHeader, out var token) != BearerTokenStatus.Present)
        {
            return false;
        }

        // Comparing fixed-size digests keeps the time independent of both content and length of the guess.
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(token.ToString()), digest);
        return CryptographicOperations.FixedTimeEquals(digest, _expectedDigest);
    }
}
