using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Testing.Stripe;

/// <summary>
/// Signs webhook bodies the way Stripe does: <c>Stripe-Signature: t={unix},v1={hex HMAC-SHA256 of "{t}.{body}"}</c>,
/// keyed with the UTF-8 bytes of the whole <c>whsec_…</c> secret.
/// </summary>
public static class StripeWebhook
{
    public const string SignatureHeader = "Stripe-Signature";

    public static string NewSecret() => "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string Sign(string payload, string secret, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + payload));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>A POST of <paramref name="payload"/> as Stripe sends it, signed at <paramref name="timestamp"/> (default now).</summary>
    public static HttpRequestMessage CreateRequest(Uri endpoint, string payload, string secret, DateTimeOffset? timestamp = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(payload, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(payload, secret, timestamp ?? DateTimeOffset.UtcNow));
        request.Headers.UserAgent.ParseAdd("Stripe/1.0");
        return request;
    }
}
