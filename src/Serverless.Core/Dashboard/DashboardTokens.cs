using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Serverless.Core.Keys;

namespace Serverless.Core.Dashboard;

/// <summary>
/// Signed, expiring tokens for the dashboard: session cookies, sign-in links and CSRF tokens.
/// <code>
///   v1.{base64url(JSON claims)}.{base64url(HMAC-SHA256(key, "v1." + claims part))}
/// </code>
/// </summary>
/// <remarks>
/// Why HMAC tokens rather than ASP.NET Core Data Protection: every instance (and the admin CLI, which makes sign-in
/// links offline) already shares one secret, Keys:HashSecret, so tokens verify anywhere with no key ring to store
/// and share. Each use gets its own key, derived from that secret with HKDF, so a link can never pass as a session
/// (and vice versa) and no token is ever an HMAC under the key API keys are hashed with. The claims are signed, not
/// encrypted: they hold only a customer id, a key id (both public) and times. Changing Keys:HashSecret ends every
/// session and link.
/// </remarks>
public sealed class DashboardTokens
{
    /// <summary>Longer input is refused before any work is done.</summary>
    public const int MaxTokenLength = 1024;

    private const string Version = "v1";
    private const long MaxUnixSeconds = 253_402_300_799;
    private const string SessionType = "session";
    private const string LinkType = "link";

    // Allowed clock difference between the instance or CLI that signed a token and the one reading it.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan MaxSessionLifetime = TimeSpan.FromDays(1);

    private readonly byte[] _sessionKey;
    private readonly byte[] _linkKey;
    private readonly byte[] _csrfKey;

    public DashboardTokens(IOptions<KeyOptions> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        byte[] secret = Encoding.UTF8.GetBytes(keys.Value.HashSecret);
        _sessionKey = Derive(secret, "serverless dashboard session v1");
        _linkKey = Derive(secret, "serverless dashboard link v1");
        _csrfKey = Derive(secret, "serverless dashboard csrf v1");
    }

    public string CreateSession(string customerId, string? keyId, DateTimeOffset now, TimeSpan lifetime) =>
        Create(_sessionKey, SessionType, customerId, keyId, now, lifetime, MaxSessionLifetime);

    public DashboardClaims? ReadSession(string? token, DateTimeOffset now) => Read(_sessionKey, SessionType, token, now, MaxSessionLifetime);

    /// <summary>A sign-in link token for a customer; anyone holding it can open that customer's dashboard until it expires.</summary>
    public string CreateLink(string customerId, DateTimeOffset now, TimeSpan lifetime) =>
        Create(_linkKey, LinkType, customerId, null, now, lifetime, DashboardOptions.MaxLinkLifetime);

    public DashboardClaims? ReadLink(string? token, DateTimeOffset now) => Read(_linkKey, LinkType, token, now, DashboardOptions.MaxLinkLifetime);

    /// <summary>The CSRF token of a session: bound to it, unknowable without the server secret, never stored.</summary>
    public string CsrfToken(string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        return Base64Url.EncodeToString(HMACSHA256.HashData(_csrfKey, Encoding.UTF8.GetBytes(sessionId)));
    }

    public bool IsValidCsrfToken(string sessionId, string? presented)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        if (string.IsNullOrEmpty(presented) || presented.Length > 64)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(CsrfToken(sessionId)), Encoding.ASCII.GetBytes(presented));
    }

    private static byte[] Derive(byte[] secret, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: Encoding.UTF8.GetBytes(purpose));

    private static string Create(byte[] key, string type, string customerId, string? keyId, DateTimeOffset now, TimeSpan lifetime, TimeSpan maxLifetime)
    {
        ArgumentNullException.ThrowIfNull(customerId);
        if (!CustomerIds.IsValid(customerId))
        {
            throw new ArgumentException($"'{customerId}' is not a valid customer id.", nameof(customerId));
        }

        if (lifetime <= TimeSpan.Zero || lifetime > maxLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, $"The lifetime must be positive and at most {maxLifetime}.");
        }

        var payload = new TokenPayload(
            type, customerId, keyId, Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            now.ToUnixTimeSeconds(), (now + lifetime).ToUnixTimeSeconds());
        string body = Version + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload, DashboardTokenJsonContext.Default.TokenPayload));
        return body + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body)));
    }

    private static DashboardClaims? Read(byte[] key, string type, string? token, DateTimeOffset now, TimeSpan maxLifetime)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || !token.StartsWith(Version + ".", StringComparison.Ordinal))
        {
            return null;
        }

        int dot = token.LastIndexOf('.');
        if (dot <= Version.Length + 1)
        {
            return null;
        }

        string body = token[..dot];
        Span<byte> signature = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Base64Url.IsValid(token.AsSpan(dot + 1), out int length) || length != signature.Length
            || Base64Url.DecodeFromChars(token.AsSpan(dot + 1), signature) != signature.Length)
        {
            return null;
        }

        // Only ASCII passes the signature check; anything else in the body fails it.
        if (!Ascii.IsValid(body) || !CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(body)), signature))
        {
            return null;
        }

        TokenPayload? payload;
        try
        {
            payload = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(body.AsSpan(Version.Length + 1)), DashboardTokenJsonContext.Default.TokenPayload);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return null;
        }

        if (payload is null || payload.Type != type || !CustomerIds.IsValid(payload.Customer) || string.IsNullOrEmpty(payload.Id)
            || payload.IssuedAt is < 0 or > MaxUnixSeconds || payload.ExpiresAt is < 0 or > MaxUnixSeconds)
        {
            return null;
        }

        var issued = DateTimeOffset.FromUnixTimeSeconds(payload.IssuedAt);
        var expires = DateTimeOffset.FromUnixTimeSeconds(payload.ExpiresAt);
        if (expires <= now || issued > now + ClockSkew || expires - issued > maxLifetime)
        {
            return null;
        }

        return new DashboardClaims(payload.Customer, payload.Key, payload.Id, issued, expires);
    }

    internal sealed record TokenPayload(
        [property: JsonPropertyName("typ")] string Type,
        [property: JsonPropertyName("cus")] string Customer,
        [property: JsonPropertyName("key")] string? Key,
        [property: JsonPropertyName("jti")] string Id,
        [property: JsonPropertyName("iat")] long IssuedAt,
        [property: JsonPropertyName("exp")] long ExpiresAt);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DashboardTokens.TokenPayload))]
internal sealed partial class DashboardTokenJsonContext : JsonSerializerContext;
